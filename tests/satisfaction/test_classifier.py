"""The reply classifier: the corpus, its fixed split, the held-out quality, and the sure cases of the rules."""

from __future__ import annotations

from collections import Counter

import pytest

from otklik.satisfaction.classifier import classify_reply, evaluate, load_corpus, rule_verdict, split


def test_the_corpus_has_at_least_220_distinct_replies_of_every_label():
    rows = load_corpus()
    assert len(rows) >= 220
    assert len({r.text.strip().lower() for r in rows}) == len(rows)
    counts = Counter(r.label for r in rows)
    assert set(counts) == {"satisfied", "not_satisfied", "new_question", "neutral"}
    assert min(counts.values()) >= 40


def test_the_held_out_split_is_fixed_and_a_fifth_of_each_label():
    rows = load_corpus()
    train, heldout = split(rows)
    assert split(rows) == (train, heldout)
    assert not {r.where for r in train} & {r.where for r in heldout}
    for label, total in Counter(r.label for r in rows).items():
        assert sum(1 for r in heldout if r.label == label) == total // 5


def test_on_the_held_out_replies_the_classifier_is_right_at_least_four_times_in_five():
    result = evaluate()
    # Measured 0.894 accuracy and 0.888 macro-F1 on 47 held-out replies (docs/SATISFACTION.md); the floors leave
    # room for a library's numeric drift, not for a model that stopped learning (the majority class is 0.30).
    assert result["rules_and_model"]["accuracy"] >= 0.83
    assert result["rules_and_model"]["macro_f1"] >= 0.82
    assert result["rules"]["right"] == result["rules"]["covered"]


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Спасибо, конечно, но воды как не было так и нет", "not_satisfied"),
        ("опять отписка", "not_satisfied"),
        ("Проблема не решена, яма на месте", "not_satisfied"),
        ("+", "neutral"),
        ("ок", "neutral"),
    ],
)
def test_the_rules_decide_the_sure_cases(text, label):
    rule = rule_verdict(text)
    assert rule is not None and rule[0] == label
    assert classify_reply(text)[0] == label


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("спасибо большое, всё сделали!", "satisfied"),
        ("Ничего не изменилось, всё так же течёт", "not_satisfied"),
        ("А когда отремонтируют дорогу на Мира?", "new_question"),
        ("Хорошо, подождём до конца недели", "neutral"),
    ],
)
def test_the_model_tells_replies_it_has_not_seen(text, label):
    verdict, confidence = classify_reply(text)
    assert verdict == label
    assert 0.0 < confidence <= 1.0


def test_a_thanks_with_but_is_not_taken_for_satisfaction_by_the_rules():
    assert rule_verdict("Спасибо, но свет так и не дали") == ("not_satisfied", 0.95)
    assert rule_verdict("Спасибо!") is None  # left to the model


def test_a_polite_thanks_with_a_but_is_not_satisfied():
    assert classify_reply("Спасибо, но всё плохо")[0] != "satisfied"
    assert classify_reply("Благодарю, однако лучше не стало")[0] != "satisfied"
