"""Step 2 of the pipeline: what kind of post it is, and how negative — rules blended with a learned model.

`analyze_kind(text)` → `KindResult(kind, negative)`: the rules below decide abusive and spam when their signal is
clear (profanity, insults, ad markers: abusive posts get no answer, so the model alone may call a post abusive
only when it is very sure); otherwise the learned model of the team's corpus (`KindModel`, see `_blend`) gives the
kind, and negativity is a weighted mean of the model's and the rules'. Measured on the corpus held-out split and
5-fold CV, the blend beats the rules alone (docs/NLP.md); `rule_kind(text)` is the rules alone.

The rules: the text is cleaned by `otklik.nlp.normalize.normalize`
(HTML, mentions, emoji, look-alike letters) and lemmatised by `otklik.nlp.text` (cached pymorphy3); links and
masked profanity are looked for in the raw lowercase text, since cleaning removes links.

Precedence (the first that applies wins):
1. `abusive`: an obscene root (also masked: «х*й», «бл@»), or an insult lemma («дебил», «твари»).
2. `spam`: ad / off-topic markers — a link plus one marker, two markers, or a phone number with «звоните» in a
   post without complaint markers.
3. `gratitude`: «спасибо», «благодарю», «молодцы»… and no complaint marker («спасибо, но воды нет» is a complaint).
4. `complaint` when the complaint evidence is strong (score >= STRONG_COMPLAINT: «когда уже», «сколько можно»,
   «не работает», «?!», or several weak markers together).
5. `suggestion`: «предлагаю», «хорошо бы», «давайте», «было бы неплохо»…
6. `question`: ends with «?» or starts with a question word.
7. `complaint` on any weaker complaint evidence; otherwise `neutral`.

`negative` is a logistic function of a signed evidence sum (complaint markers and «!» up, insults far up,
thanks down), so it moves smoothly with the number of markers: about 0.25 for a plain text, just above 0.5 for one
complaint marker, about 0.8 for two, above 0.9 for an insult, a few hundredths for a thanks.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings

from otklik.intake.choices import PostKind
from otklik.nlp.corpus import CORPUS_DIR, CorpusRow
from otklik.nlp.corpus import load as corpus_load
from otklik.nlp.corpus import split as corpus_split
from otklik.nlp.normalize import normalize
from otklik.nlp.text import lemmas, tokens

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KindResult:
    kind: str  # a PostKind value
    negative: float  # in [0, 1]


# --- abusive -------------------------------------------------------------------------------------------------
# Obscene roots, matched at the start of a word (after an optional verbal prefix) in the lowercase text, ё → е.
# «говно»/«дерьмо» are left out on purpose: people use them to describe a real problem (sewage in the basement).
OBSCENE_RE = re.compile(
    r"(?<![а-яa-z])(?:"
    r"(?:на|по|от|о|с|за)?ху[йяеию]\w*"  # хуй, хуевый, нахуя, похуй, охуели
    r"|(?:с|рас|от|за|вы|при|на|о)?пизд\w*"
    r"|(?:за|от|у|вы|на|по|до|съ|разъ|подъ|при|об|долбо)?еб(?:а|у|л|ан|ут|ет|ись|ище|ок|к)\w*"
    r"|бля(?:дь|ди|ть)?(?![а-я])"
    r"|бляд\w*"
    r"|муд(?:ак|ач|ил|озвон)\w*"
    r"|пид(?:ор|ар|р)\w*"
    r"|залуп\w*|гандон\w*|шлюх\w*|сук(?:а|и|е|у|ой|ами)(?![а-я])|сучар\w*"
    r")"
)
# A Cyrillic word with mask characters inside or at its end: «х*й», «бл@», «п***ц», «е**ть».
MASKED_RE = re.compile(r"(?<![\w@#*$%])[а-я]{1,4}[*@#$%]+[а-я]{0,6}(?![\w@])")
# Insults (lemmas).
_INSULT_LEMMAS_TEXT = """
    дебил дебильный идиот идиотка тварь урод уродина придурок придурочный кретин дурак дура скотина мразь ублюдок
    сволочь гнида падла козел быдло чмо даун дегенерат тупорылый недоумок ничтожество бездарь засранец мерзавец
    подонок выродок отморозок ворюга дармоед кретинизм имбецил олигофрен тупица гад гадина
    """
INSULT_LEMMAS = frozenset(_INSULT_LEMMAS_TEXT.split())

# --- spam ----------------------------------------------------------------------------------------------------
LINK_RE = re.compile(r"https?://|www\.|\b(?:vk\.com|vk\.cc|t\.me|ok\.ru|clck\.ru|bit\.ly)/|\b\w+\.(?:ru|com|рф)/\S")
PHONE_RE = re.compile(r"(?:\+7|\b8)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}\b")
# Ad and off-topic markers: lemmas, and phrases of lemmas (stop words kept).
_SPAM_LEMMAS_TEXT = """
    заработок скидка подписаться подписываться подписка казино букмекер промокод криптовалюта крипта бонус
    ставка розыгрыш выигрыш инвестиция инвестировать кредит займ микрозайм распродажа репост реклама вакансия
    """
SPAM_LEMMAS = frozenset(_SPAM_LEMMAS_TEXT.split())
SPAM_PHRASES = (
    "доход от",
    "ставка на спорт",
    "делать ставка",
    "пассивный доход",
    "работа на дом",
    "удаленный работа",
    "без вложение",
    "переходить по ссылка",
    "ссылка в профиль",
)
CALL_LEMMAS = frozenset({"звонить", "позвонить", "обращаться", "писать"})
# A phone number with a call to ring counts as one ad marker.

# --- gratitude -----------------------------------------------------------------------------------------------
GRATITUDE_LEMMAS = frozenset({"спасибо", "благодарить", "благодарность", "молодец", "признательность", "благодарный"})

# --- suggestion ----------------------------------------------------------------------------------------------
SUGGESTION_PHRASES = (
    "предлагать",
    "предложение",
    "хорошо бы",
    "неплохо бы",
    "было бы неплохо",
    "было бы хорошо",
    "было бы здорово",
    "почему бы не",
    "хотеться бы",
    "стоит сделать",
    "рассмотреть возможность",
)
# «давайте» lemmatises to «давать» («не дают воду»): matched as a word.
SUGGESTION_WORDS = frozenset({"давайте", "предлагаю", "предлагаем"})

# --- question ------------------------------------------------------------------------------------------------
_QUESTION_START_WORDS_TEXT = """
    как где когда почему зачем куда откуда сколько кто что какой какая какие каким чей ли подскажите скажите
    разъясните объясните уточните будет будут можно планируется
    """
QUESTION_START_WORDS = frozenset(_QUESTION_START_WORDS_TEXT.split())

# --- complaint -----------------------------------------------------------------------------------------------
# Strong markers (weight 2): phrases of lemmas, stop words kept.
COMPLAINT_STRONG_PHRASES = (
    "когда уже",
    "сколько можно",
    "не работать",
    "до сих пор",
    "не убирать",
    "не вывозить",
    "никто не",
    "ничего не делать",
    "не реагировать",
    "не отвечать",
)
_COMPLAINT_STRONG_LEMMAS_TEXT = """
    безобразие беспредел бардак позор ужас ужасный кошмар издевательство издеваться надоесть невозможно
    невыносимый возмутительный возмущать возмущение жалоба жаловаться отвратительный безобразный разруха
    """
COMPLAINT_STRONG_LEMMAS = frozenset(_COMPLAINT_STRONG_LEMMAS_TEXT.split())
# Weak markers (weight 1): negation of having, repetition, problem nouns and verbs.
_COMPLAINT_WEAK_LEMMAS_TEXT = """
    нет опять снова яма выбоина мусор грязь свалка авария прорыв протечка течь протекать затопить вонь вонять
    лужа сломать сломаться сломанный отключить отключение разбить холодно холод опасно опасный проблема плохо
    плохой гнить сгнить обрушиться трещина грязный нарушение нарушать шум темно сосулька прорвать забитый забить
    еле хамить хамство грубить нагрубить грубый очередь пробка переполнить переполненный размыть разбитый
    провалиться отменить терять колея гололед наледь ржавый запах канализация ерунда буксовать грязно разрушить
    бездомный бродячий крыса таракан мерзнуть замерзать ледяной вырубить
    """
COMPLAINT_WEAK_LEMMAS = frozenset(_COMPLAINT_WEAK_LEMMAS_TEXT.split())
# «не» + the next word («не чистят», «не горит») is a weak complaint marker, except in these set phrases.
NEGATION_EXCEPTIONS = frozenset({"только", "менее", "более", "так", "очень", "за", "раз", "то"})
NEGATION_EXCEPTION_PREFIXES = ("подскаж", "мог", "знаю")
DURATION_RE = re.compile(
    r"(?<![а-я])(?:\d+|второй|третий|четвертый|пятый|который|целый|уже)\s+(?:-?й\s+)?"
    r"(?:день|дня|дней|неделю|недели|недель|месяц|месяца|месяцев|год|года|лет)(?![а-я])"
)
STRONG_COMPLAINT = 2.0

# Weights of the negativity evidence; negative = 1 / (1 + exp(-SLOPE * (evidence - MIDPOINT))).
SLOPE = 1.2
MIDPOINT = 0.9
ABUSE_WEIGHT = 3.5
EXCLAMATION_WEIGHT = 0.5
GRATITUDE_WEIGHT = 1.5


@cache
def _phrase_key(phrase: str) -> str:
    return " " + " ".join(lemmas(phrase, keep_stop=True)) + " "


def _count_phrases(lemma_line: str, phrases: tuple[str, ...]) -> int:
    return sum(lemma_line.count(_phrase_key(p)) for p in phrases)


def _masked(lower: str) -> int:
    return len(MASKED_RE.findall(lower))


def _negations(words: list[str]) -> int:
    """«не» followed by a word that is not a set phrase («не только», «не могли бы», «не подскажете»)."""
    count = 0
    for word, following in zip(words, words[1:], strict=False):
        if word != "не" or following in NEGATION_EXCEPTIONS or following.startswith(NEGATION_EXCEPTION_PREFIXES):
            continue
        count += 1
    return count


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


@dataclass(frozen=True)
class _RuleResult:
    kind: str
    negative: float
    clear: bool  # a clear profanity or spam signal: the rules' kind wins over the model's


def rule_kind(text: str) -> KindResult:
    """The kind and negativity by the rules alone (see the module docstring)."""
    result = _rules(text)
    return KindResult(kind=result.kind, negative=result.negative)


def _rules(text: str) -> _RuleResult:
    raw_lower = (text or "").lower().replace("ё", "е")
    clean, word_tuple, lemma_tuple = _clean_lemmas(text or "")
    lower = clean.lower().replace("ё", "е")
    words = list(word_tuple)
    lems = list(lemma_tuple)
    lemma_set = frozenset(lems)
    lemma_line = " " + " ".join(lems) + " "

    abuse = len(OBSCENE_RE.findall(lower)) + _masked(lower) + sum(1 for lem in lems if lem in INSULT_LEMMAS)

    complaint = 2.0 * _count_phrases(lemma_line, COMPLAINT_STRONG_PHRASES)
    complaint += 2.0 * sum(1 for lem in lemma_set if lem in COMPLAINT_STRONG_LEMMAS)
    complaint += 1.0 * sum(1 for lem in lemma_set if lem in COMPLAINT_WEAK_LEMMAS)
    complaint += 1.0 * len(DURATION_RE.findall(lower))
    if "?!" in lower or "!?" in lower:
        complaint += 2.0
    hard_complaint = complaint
    # A negated verb only adds when no stronger phrase («не работает») already counted it.
    complaint += max(0, _negations(words) - _count_phrases(lemma_line, COMPLAINT_STRONG_PHRASES))
    exclamations = min(2, lower.count("!"))

    spam_markers = sum(1 for lem in lemma_set if lem in SPAM_LEMMAS) + _count_phrases(lemma_line, SPAM_PHRASES)
    has_link = bool(LINK_RE.search(raw_lower))
    if PHONE_RE.search(raw_lower) and lemma_set & CALL_LEMMAS:
        spam_markers += 1
        phone_call = True
    else:
        phone_call = False
    gratitude = sum(1 for lem in lems if lem in GRATITUDE_LEMMAS)
    suggestion = _count_phrases(lemma_line, SUGGESTION_PHRASES) + sum(1 for w in words if w in SUGGESTION_WORDS)
    question = lower.rstrip(" .)").endswith("?") or (bool(words) and words[0] in QUESTION_START_WORDS)

    evidence = complaint + EXCLAMATION_WEIGHT * exclamations + ABUSE_WEIGHT * abuse
    if hard_complaint == 0:
        evidence -= GRATITUDE_WEIGHT * gratitude
    negative = _clamp(1.0 / (1.0 + math.exp(-SLOPE * (evidence - MIDPOINT))))

    if abuse:
        kind = PostKind.ABUSIVE
    elif (has_link and spam_markers) or spam_markers >= 2 or (phone_call and hard_complaint == 0):
        kind = PostKind.SPAM
    elif gratitude and hard_complaint == 0:
        kind = PostKind.GRATITUDE
    elif complaint >= STRONG_COMPLAINT:
        kind = PostKind.COMPLAINT
    elif suggestion:
        kind = PostKind.SUGGESTION
    elif question:
        kind = PostKind.QUESTION
    elif complaint > 0:
        kind = PostKind.COMPLAINT
    else:
        kind = PostKind.NEUTRAL
    clear = kind in (PostKind.ABUSIVE, PostKind.SPAM)
    return _RuleResult(kind=str(kind), negative=round(negative, 4), clear=clear or not clean.strip())


# --- the learned model -----------------------------------------------------------------------------------------
# Trained on the train split of the team's corpus (otklik.nlp.corpus), built once per process and cached on disk in
# VAR_DIR/nlp/kind/<digest of the corpus files and the recipe>/, so a changed corpus gives a new model.

KIND_RECIPE = "kind-tfidf-lemma12-char25-logreg/2"
MODEL_FILE = "kind.joblib"
#: The model may call a post abusive or spam (no answer at all) only when that kind is its most probable one and at
#: least this probable; otherwise the next kind. Abusive is kept strict: an angry complaint must still get an answer.
#: The rules' clear signals (profanity, insults, ad markers) do not need it. Measured on the held-out split:
#: spam at 0.3 found 3 of 7 spam posts with no false one; at 0.5 none.
NO_ANSWER_MIN: dict[str, float] = {PostKind.ABUSIVE.value: 0.8, PostKind.SPAM.value: 0.3}
#: negative = NEGATIVE_MODEL_WEIGHT * model + (1 - NEGATIVE_MODEL_WEIGHT) * rules.
NEGATIVE_MODEL_WEIGHT = 0.6


@lru_cache(maxsize=64)
def _clean_lemmas(text: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(cleaned text, its tokens, their lemmas with stop words): the rules and the model both need them, once."""
    clean = normalize(text or "")
    return clean, tuple(tokens(clean)), tuple(lemmas(clean, keep_stop=True))


def kind_tokens(text: str) -> list[str]:
    """Lemmas with stop words kept («не», «когда», «как» tell kinds apart); module level so joblib can pickle it."""
    return list(_clean_lemmas(text)[2])


def kind_chars(text: str) -> str:
    return _clean_lemmas(text)[0].lower().replace("ё", "е")


def _identity(text: str) -> str:
    return text


def _features() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    words = TfidfVectorizer(
        tokenizer=kind_tokens,
        preprocessor=_identity,
        lowercase=False,
        token_pattern=None,
        ngram_range=(1, 2),
        sublinear_tf=True,
    )
    chars = TfidfVectorizer(analyzer="char_wb", preprocessor=kind_chars, ngram_range=(2, 5), sublinear_tf=True)
    return words, chars


def _classifier() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(class_weight="balanced", C=10.0, max_iter=3000, random_state=0)


class KindModel:
    """Two logistic regressions over one set of features (TF-IDF of lemma 1–2-grams, stop words kept, and of
    char_wb 2–5-grams): the kind (multinomial) and negative (binary). The features of a text are computed once
    for both, without sklearn's FeatureUnion (its parallel machinery costs more than the work for one text)."""

    def __init__(self, words: Any, chars: Any, kinds: Any, negative: Any | None, meta: dict[str, Any]) -> None:
        self.words = words
        self.chars = chars
        self.kinds = kinds
        self.negative = negative
        self.meta = meta

    def _matrix(self, texts: Sequence[str]) -> Any:
        from scipy.sparse import hstack

        from otklik.nlp.model import tfidf_transform

        return hstack([tfidf_transform(self.words, texts), tfidf_transform(self.chars, texts)]).tocsr()

    @classmethod
    def fit(cls, rows: Sequence[CorpusRow]) -> KindModel:
        from scipy.sparse import hstack

        rows = [r for r in rows if r.kind]
        words, chars = _features()
        texts = [r.text for r in rows]
        matrix = hstack([words.fit_transform(texts), chars.fit_transform(texts)]).tocsr()
        kinds = _classifier().fit(matrix, [r.kind for r in rows])
        labelled = [i for i, r in enumerate(rows) if r.negative is not None]
        negative = None
        if len({rows[i].negative for i in labelled}) == 2:
            negative = _classifier().fit(matrix[labelled], [int(bool(rows[i].negative)) for i in labelled])
        meta = {"recipe": KIND_RECIPE, "n_train": len(rows), "n_negative": len(labelled)}
        return cls(words, chars, kinds, negative, meta)

    def predict(self, text: str) -> tuple[dict[str, float], float | None]:
        """(kind → probability, probability of negative or None when the corpus had no negative labels)."""
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[tuple[dict[str, float], float | None]]:
        """`predict` of each text, the features and both regressions computed for all the texts at once."""
        if not texts:
            return []
        matrix = self._matrix(texts)
        labels = [str(label) for label in self.kinds.classes_]
        proba = self.kinds.predict_proba(matrix)
        negative = None
        if self.negative is not None:
            negative = self.negative.predict_proba(matrix)[:, list(self.negative.classes_).index(1)]
        return [
            (
                {label: float(p) for label, p in zip(labels, proba[row], strict=True)},
                None if negative is None else float(negative[row]),
            )
            for row in range(len(texts))
        ]


def corpus_digest(directory: Path = CORPUS_DIR) -> str:
    import sklearn

    digest = hashlib.sha256(KIND_RECIPE.encode())
    digest.update(sklearn.__version__.encode())
    for path in sorted(directory.glob("*.jsonl")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_dir() -> Path:
    return Path(settings.VAR_DIR) / "nlp" / "kind"


def build_model(directory: Path = CORPUS_DIR) -> KindModel | None:
    """The model of the corpus in `directory`, from the disk cache or trained on its train split (then cached).

    None when the corpus has fewer than two kinds (nothing to learn: the rules alone decide).
    """
    import joblib

    path = model_dir() / corpus_digest(directory) / MODEL_FILE
    if path.exists():
        try:
            model = joblib.load(path)
            if isinstance(model, KindModel):
                return model
        except Exception:  # a torn or stale file: train again
            log.warning("kind model %s unreadable; training again", path, exc_info=True)
    train, _heldout = corpus_split(corpus_load(directory))
    if len({r.kind for r in train if r.kind}) < 2:
        return None
    model = KindModel.fit(train)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed: a concurrent worker reads the old file or the new one, never half of one.
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
        joblib.dump(model, handle)
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, path)
    return model


@cache
def kind_model() -> KindModel | None:
    """The kind model of the shipped corpus, built once per process (None when disabled by the setting)."""
    if not getattr(settings, "OTKLIK_KIND_MODEL", True):
        return None
    return build_model()


def _blend(
    rules: _RuleResult,
    model: KindModel,
    text: str,
    predicted: tuple[dict[str, float], float | None] | None = None,
) -> KindResult:
    """1. A clear profanity or spam signal of the rules wins (their kind; negativity from the rules too), and so do
       the rules on an empty text.
    2. Otherwise the model's most probable kind; abusive or spam only above `NO_ANSWER_MIN` (an angry complaint
       must never go unanswered), else the next most probable kind.
    3. Negativity: a weighted mean of the model's and the rules' (the rules alone when the model has none).

    `predicted`: the model's answer for the text when already computed (`analyze_kinds`).
    """
    if rules.clear:
        return KindResult(kind=rules.kind, negative=rules.negative)
    kinds, model_negative = predicted if predicted is not None else model.predict(text)
    ranked = sorted(kinds.items(), key=lambda item: -item[1])
    kind = ranked[0][0]
    if kind in NO_ANSWER_MIN and ranked[0][1] < NO_ANSWER_MIN[kind]:
        kind = next((label for label, _p in ranked if label not in NO_ANSWER_MIN), rules.kind)
    if model_negative is None:
        negative = rules.negative
    else:
        negative = NEGATIVE_MODEL_WEIGHT * model_negative + (1 - NEGATIVE_MODEL_WEIGHT) * rules.negative
    return KindResult(kind=kind, negative=round(_clamp(negative), 4))


def analyze_kind(text: str) -> KindResult:
    """The kind of a post and its negativity: the rules blended with the learned model (see `_blend`)."""
    rules = _rules(text)
    model = kind_model()
    if model is None:
        return KindResult(kind=rules.kind, negative=rules.negative)
    return _blend(rules, model, text)


def analyze_kinds(texts: Sequence[str]) -> list[KindResult]:
    """`analyze_kind` of each text; the model runs once over the texts the rules leave to it (the batch analysis)."""
    rules = [_rules(text) for text in texts]
    model = kind_model()
    if model is None:
        return [KindResult(kind=r.kind, negative=r.negative) for r in rules]
    todo = [i for i, r in enumerate(rules) if not r.clear]
    predicted = dict(zip(todo, model.predict_many([texts[i] for i in todo]), strict=True))
    return [_blend(r, model, text, predicted.get(i)) for i, (r, text) in enumerate(zip(rules, texts, strict=True))]
