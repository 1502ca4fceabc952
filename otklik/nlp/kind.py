"""Step 2 of the pipeline: what kind of post it is, and how negative, by rules (no model to load).

`analyze_kind(text)` → `KindResult(kind, negative)`. The text is cleaned by `otklik.nlp.normalize.normalize`
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

import math
import re
from dataclasses import dataclass
from functools import cache

from otklik.intake.choices import PostKind
from otklik.nlp.normalize import normalize
from otklik.nlp.text import lemmas, tokens


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
    подонок выродок отморозок ворюга дармоед кретинизм имбецил олигофрен тупица чучело гад гадина
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


def analyze_kind(text: str) -> KindResult:
    """The kind of a post and its negativity; see the module docstring for the rules."""
    raw_lower = (text or "").lower().replace("ё", "е")
    clean = normalize(text or "")
    lower = clean.lower().replace("ё", "е")
    words = tokens(clean)
    lems = lemmas(clean, keep_stop=True)
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
    return KindResult(kind=str(kind), negative=round(negative, 4))
