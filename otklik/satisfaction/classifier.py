"""The verdict on a citizen's reply to the city's answer: satisfied, not satisfied, a new question, or neutral.

`classify_reply(text) -> (label, confidence)`:
1. Sure cases by rules (`rule_verdict`): phrases that mean "still not fixed" («не решена», «как не было»,
   «отписка», «ничего не сделали», …) → not_satisfied with confidence 0.95; a text of only «+», «ок», «понятно» →
   neutral 0.9. The sarcastic thanks «спасибо, конечно, но воды как не было так и нет» is caught by "как не было".
2. Otherwise the learned model: TF-IDF of lemma 1–2-grams (stop words kept: «не», «а», «когда» matter here) and of
   char_wb 2–5-grams, into a logistic regression calibrated with sigmoid scaling (3-fold); the label is the most
   probable one, the confidence its probability — except that a thanks with a "but" («спасибо, но…») is never
   taken as satisfied (the next most probable label is).

The model is trained on the train split of `data/replies.jsonl` (the held-out split: every fifth row of each label,
ordered by a hash of the text), built once per process and cached on disk in VAR_DIR/satisfaction/<digest of the
corpus and the recipe>/ — the pattern of otklik.nlp.kind. Emoji carry meaning in replies and would be removed by
the cleaning, so the common ones are first turned into words (`_emoji_words`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings

from otklik.nlp.normalize import normalize
from otklik.nlp.text import lemmas
from otklik.satisfaction.choices import Verdict

log = logging.getLogger(__name__)

CORPUS_FILE = Path(__file__).resolve().parent / "data" / "replies.jsonl"
HELDOUT_EVERY = 5
RECIPE = "reply-tfidf-lemma12-char25-logreg-sigmoid3/1"
MODEL_FILE = "replies.joblib"
LABELS = tuple(Verdict.values)


# --- the corpus --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    text: str
    label: str
    where: str


def load_corpus(path: Path = CORPUS_FILE) -> list[Reply]:
    rows: list[Reply] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        data = json.loads(line)
        label = str(data["label"])
        if label not in LABELS:
            raise ValueError(f"{path.name}:{number}: unknown label {label!r}")
        rows.append(Reply(text=str(data["text"]), label=label, where=f"{path.name}:{number}"))
    return rows


def _digest(text: str) -> str:
    return hashlib.sha1(text.strip().lower().encode("utf-8"), usedforsecurity=False).hexdigest()


def split(rows: Sequence[Reply]) -> tuple[list[Reply], list[Reply]]:
    """(train, held-out): within each label the rows ordered by a hash of their text, every fifth held out."""
    by_label: dict[str, list[Reply]] = defaultdict(list)
    for row in rows:
        by_label[row.label].append(row)
    held: set[str] = set()
    for members in by_label.values():
        ordered = sorted(members, key=lambda r: _digest(r.text))
        held |= {r.where for r in ordered[HELDOUT_EVERY - 1 :: HELDOUT_EVERY]}
    return [r for r in rows if r.where not in held], [r for r in rows if r.where in held]


# --- text ----------------------------------------------------------------------------------------------------------

_EMOJI = {
    "emopos": "👍👏🙏❤♥😊🙂😀😃😄😁☺🥰😍💪👌🔥",
    "emoneg": "👎😡🤬😠😤💩🤡😒😞😢😭🙄",
}
_EMOJI_MAP = {char: f" {word} " for word, chars in _EMOJI.items() for char in chars}


def _emoji_words(text: str) -> str:
    return "".join(_EMOJI_MAP.get(char, char) for char in text)


@lru_cache(maxsize=256)
def _prepared(text: str) -> tuple[str, tuple[str, ...]]:
    """(the cleaned lowercase text, its lemmas with stop words); «+» and «?» survive as words."""
    raw = _emoji_words(text or "")
    raw = raw.replace("?", " qmark ").replace("+", " plus ")
    clean = normalize(raw).lower().replace("ё", "е")
    return clean, tuple(lemmas(clean, keep_stop=True))


def reply_tokens(text: str) -> list[str]:
    return list(_prepared(text)[1])


def reply_chars(text: str) -> str:
    return _prepared(text)[0]


def _identity(text: str) -> str:
    return text


# --- rules ---------------------------------------------------------------------------------------------------------

# "Still not fixed", a brush-off, a lie: said plainly. Matched in the lowercase text, ё → е.
NOT_SATISFIED_RE = re.compile(
    r"не\s+решен|не\s+устранен|как\s+не\s+было|так\s+и\s+нет|как\s+был\w*\s*,?\s+так\s+и|так\s+и\s+(?:не|лежит|стоит|"
    r"осталась|остался|осталось)|отписк|отписал|ничего\s+не\s+(?:сделан|сделал|измени|поменял)|ни-?че-?го\s+не|"
    r"до\s+сих\s+пор\s+не|не\s+соответствует\s+действительност|проблема\s+(?:осталась|не\s+решена)|"
    r"воз\s+и\s+ныне|пустые\s+обещания|за\s+ничего"
)
# Only agreement or acknowledgement, nothing else.
NEUTRAL_RE = re.compile(r"^\s*(?:\++|ок(?:ей)?|ok|понятно|ясно|ладно|угу|ага|принято)[\s.!)]*$")


# A thanks with a "but" after it: «спасибо, но…», «благодарю, однако…», «спасибо, только…» — polite, not satisfied.
THANKS_BUT_RE = re.compile(
    r"(?:спасиб|благодар|спс)\w*[^.!?]*?(?:,|\.\.\.|…|\s)\s*(?:но|однако|только\s+вот|только|правда)(?![а-я])"
)


def rule_verdict(text: str) -> tuple[str, float] | None:
    lower = (text or "").lower().replace("ё", "е")
    if NOT_SATISFIED_RE.search(lower):
        return Verdict.NOT_SATISFIED.value, 0.95
    if NEUTRAL_RE.match(lower):
        return Verdict.NEUTRAL.value, 0.9
    return None


# --- the model -----------------------------------------------------------------------------------------------------


class ReplyModel:
    def __init__(self, words: Any, chars: Any, classifier: Any, meta: dict[str, Any]) -> None:
        self.words = words
        self.chars = chars
        self.classifier = classifier
        self.meta = meta

    def _matrix(self, texts: Sequence[str]) -> Any:
        from scipy.sparse import hstack

        return hstack([self.words.transform(texts), self.chars.transform(texts)]).tocsr()

    @classmethod
    def fit(cls, rows: Sequence[Reply]) -> ReplyModel:
        from scipy.sparse import hstack
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        words = TfidfVectorizer(
            tokenizer=reply_tokens,
            preprocessor=_identity,
            lowercase=False,
            token_pattern=None,
            ngram_range=(1, 2),
            sublinear_tf=True,
        )
        chars = TfidfVectorizer(analyzer="char_wb", preprocessor=reply_chars, ngram_range=(2, 5), sublinear_tf=True)
        texts = [r.text for r in rows]
        matrix = hstack([words.fit_transform(texts), chars.fit_transform(texts)]).tocsr()
        base = LogisticRegression(class_weight="balanced", C=10.0, max_iter=3000, random_state=0)
        classifier = CalibratedClassifierCV(base, method="sigmoid", cv=3)
        classifier.fit(matrix, [r.label for r in rows])
        return cls(words, chars, classifier, {"recipe": RECIPE, "n_train": len(rows)})

    def predict(self, text: str) -> dict[str, float]:
        proba = self.classifier.predict_proba(self._matrix([text]))[0]
        return {str(label): float(p) for label, p in zip(self.classifier.classes_, proba, strict=True)}


def corpus_digest(path: Path = CORPUS_FILE) -> str:
    import sklearn

    digest = hashlib.sha256(RECIPE.encode())
    digest.update(sklearn.__version__.encode())
    digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_dir() -> Path:
    return Path(settings.VAR_DIR) / "satisfaction"


def build_model(path: Path = CORPUS_FILE) -> ReplyModel:
    """The model of the corpus's train split, from the disk cache or trained (then cached; written beside and
    renamed, so a concurrent worker reads the old file or the new one)."""
    import joblib

    target = model_dir() / corpus_digest(path) / MODEL_FILE
    if target.exists():
        try:
            model = joblib.load(target)
            if isinstance(model, ReplyModel):
                return model
        except Exception:  # a torn or stale file: train again
            log.warning("reply model %s unreadable; training again", target, exc_info=True)
    train, _heldout = split(load_corpus(path))
    model = ReplyModel.fit(train)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".tmp", delete=False) as handle:
        joblib.dump(model, handle)
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, target)
    return model


@cache
def reply_model() -> ReplyModel:
    """The model of the shipped corpus, built once per process."""
    return build_model()


def model_verdict(text: str, model: ReplyModel | None = None) -> tuple[str, float]:
    """The model's most probable label; a thanks with a "but" (THANKS_BUT_RE) is never taken as satisfied: the
    next most probable label is (the word «спасибо» weighs so much that the model alone misses the «но»)."""
    proba = (model or reply_model()).predict(text)
    ranked = sorted(proba.items(), key=lambda item: -item[1])
    label, confidence = ranked[0]
    if label == Verdict.SATISFIED and THANKS_BUT_RE.search((text or "").lower().replace("ё", "е")):
        label, confidence = ranked[1]
    return label, round(confidence, 4)


def classify_reply(text: str) -> tuple[str, float]:
    """(verdict, confidence in [0, 1]): the rules' sure cases, else the learned model (module docstring)."""
    if not (text or "").strip():
        return Verdict.NEUTRAL.value, 1.0
    return rule_verdict(text) or model_verdict(text)


# --- evaluation ----------------------------------------------------------------------------------------------------


def evaluate(path: Path = CORPUS_FILE) -> dict[str, Any]:
    """Held-out accuracy and macro-F1 of the model alone (its most probable label), of what `classify_reply` does
    (the rules, then the model with the thanks-but guard), and the rules' coverage and precision there."""
    from sklearn.metrics import accuracy_score, classification_report, f1_score

    rows = load_corpus(path)
    train, heldout = split(rows)
    model = ReplyModel.fit(train)
    truth = [r.label for r in heldout]
    alone = [max(model.predict(r.text).items(), key=lambda item: item[1])[0] for r in heldout]
    blended = []
    ruled = 0
    ruled_right = 0
    for row in heldout:
        rule = rule_verdict(row.text)
        if rule is not None:
            ruled += 1
            ruled_right += int(rule[0] == row.label)
        blended.append(rule[0] if rule is not None else model_verdict(row.text, model)[0])
    report = classification_report(truth, blended, labels=list(LABELS), output_dict=True, zero_division=0)
    return {
        "recipe": RECIPE,
        "corpus": len(rows),
        "train": len(train),
        "heldout": len(heldout),
        "model": {
            "accuracy": round(float(accuracy_score(truth, alone)), 3),
            "macro_f1": round(float(f1_score(truth, alone, average="macro", zero_division=0)), 3),
        },
        "rules_and_model": {
            "accuracy": round(float(accuracy_score(truth, blended)), 3),
            "macro_f1": round(float(f1_score(truth, blended, average="macro", zero_division=0)), 3),
        },
        "rules": {"covered": ruled, "right": ruled_right},
        "per_label_f1": {label: round(float(report[label]["f1-score"]), 3) for label in LABELS},
        "errors": [
            {"text": r.text, "label": r.label, "predicted": p}
            for r, p in zip(heldout, blended, strict=True)
            if p != r.label
        ],
    }
