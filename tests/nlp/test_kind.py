"""Step 2 of the pipeline (otklik.nlp.kind): the kind of a post and its negativity, on hand-written cases.

`rule_kind` is the rules alone; `analyze_kind` blends them with the model learned from the corpus (trained once,
cached in VAR_DIR/nlp/kind/). The blend is measured better on the corpus held-out split, so the hand-written
cases below that only the rules get right are checked on the rules (`RULE_ONLY`), the rest on both.
"""

from __future__ import annotations

import pytest

from otklik.nlp import kind as kind_module
from otklik.nlp.kind import analyze_kind, rule_kind

CASES = [
    # abusive: profanity (plain and masked) and insults
    ("Вы там все дебилы в администрации", "abusive"),
    ("Идите на х*й со своими отписками", "abusive"),
    ("бл@, опять яма на том же месте", "abusive"),
    ("Твари, когда уже дорогу сделаете", "abusive"),
    ("Уроды из управляющей компании, верните деньги", "abusive"),
    ("Какие же вы идиоты", "abusive"),
    ("нахуя было перекладывать плитку", "abusive"),
    ("Эти п***ы опять всё раскопали", "abusive"),
    # spam: ads and off-topic
    ("Заработок от 5000 в день! Подробности https://t.me/easy_money", "spam"),
    ("Казино вулкан, ставки на спорт, промокод BONUS", "spam"),
    ("Продаю дрова берёзовые, звоните +7 912 345-67-89", "spam"),
    ("Скидка 50% на окна! Переходи: www.okna-deshevo.ru", "spam"),
    ("Подпишись на наш канал, пассивный доход без вложений", "spam"),
    # gratitude
    ("Спасибо большое, молодцы!", "gratitude"),
    ("Благодарю дорожную службу за быстрый ремонт", "gratitude"),
    ("Выражаю благодарность врачам поликлиники №3", "gratitude"),
    # question
    ("Подскажите, когда будет горячая вода?", "question"),
    ("Где можно получить справку о составе семьи", "question"),
    ("Будет ли в этом году ремонт школы №5?", "question"),
    # suggestion
    ("Предлагаю поставить лавочки во дворе", "suggestion"),
    ("Хорошо бы сделать велодорожку вдоль набережной", "suggestion"),
    ("Давайте посадим деревья у школы", "suggestion"),
    ("Было бы неплохо установить светофор у рынка", "suggestion"),
    # complaint, also phrased as a question
    ("Когда уже починят?!", "complaint"),
    ("Третий день нет горячей воды на Ленина 5", "complaint"),
    ("Сколько можно терпеть этот бардак во дворе", "complaint"),
    ("Лифт опять не работает", "complaint"),
    ("Спасибо, но воды так и нет", "complaint"),
    ("Почему мусор не вывозят уже неделю?", "complaint"),
    ("Хулиганы сломали лавочку", "complaint"),
    ("Дорогу не чистят от снега, машины буксуют", "complaint"),
    ("Автобус 12 не пришёл уже час", "complaint"),
    # a negation in a polite question or a thanks is not a complaint
    ("Не могли бы вы подсказать график приёма?", "question"),
    ("Спасибо, что не забыли про наш двор", "gratitude"),
    # neutral
    ("Сегодня в парке прошёл субботник", "neutral"),
    ("Сообщаю о собрании жильцов в пятницу", "neutral"),
]


# The learned model reads these differently (measured: forcing the rules' reading of strong complaint markers or
# explicit proposals over the model lowers held-out accuracy 0.792 → 0.773 and CV macro-F1 0.697 → 0.688).
RULE_ONLY = {
    "Давайте посадим деревья у школы",
    "Когда уже починят?!",
    "Спасибо, но воды так и нет",
    "Сообщаю о собрании жильцов в пятницу",
}


@pytest.mark.parametrize(("text", "kind"), CASES)
def test_the_rules_find_the_kind_of_a_hand_written_post(text, kind):
    assert rule_kind(text).kind == kind


@pytest.mark.parametrize(("text", "kind"), [case for case in CASES if case[0] not in RULE_ONLY])
def test_it_finds_the_kind_of_a_hand_written_post(text, kind):
    assert analyze_kind(text).kind == kind


ANGRY_COMPLAINTS = [
    "Да сколько можно уже!!! Третью неделю воды нет, вы там вообще работаете?!",
    "ПОЗОР администрации! Дороги как после бомбёжки, никому ничего не надо",
    "Это издевательство над людьми, автобуса нет по часу, безобразие",
    "Управляющая компания опять ничего не сделала, надоели ваши отписки",
    "Вы совсем обнаглели? Мусор не вывозят месяц, крысы бегают",
]


@pytest.mark.parametrize("text", ANGRY_COMPLAINTS)
def test_an_angry_complaint_without_insults_is_never_abusive_and_is_negative(text):
    result = analyze_kind(text)
    assert result.kind not in {"abusive", "spam"}
    assert result.negative >= 0.5


@pytest.mark.parametrize(
    "text",
    ["Вы там все дебилы в администрации", "Идите на х*й со своими отписками", "бл@, опять яма на том же месте"],
)
def test_clear_profanity_stays_abusive_whatever_the_model_says(text):
    assert analyze_kind(text).kind == "abusive"


def test_the_model_alone_calls_a_post_abusive_only_when_very_sure():
    class Unsure:
        def predict(self, text):
            return {"abusive": 0.6, "complaint": 0.3, "question": 0.1}, 0.9

    class Sure:
        def predict(self, text):
            return {"abusive": 0.9, "complaint": 0.1}, 0.9

    text = "Сколько можно ждать ремонта"
    rules = kind_module._rules(text)
    assert not rules.clear
    assert kind_module._blend(rules, Unsure(), text).kind == "complaint"
    assert kind_module._blend(rules, Sure(), text).kind == "abusive"


def test_the_blend_beats_the_rules_on_the_corpus_held_out_split():
    from otklik.nlp import corpus
    from otklik.nlp.model import scores

    _train, heldout = corpus.split(corpus.load())
    gold = [row.kind for row in heldout]
    rules = scores(gold, [rule_kind(row.text).kind for row in heldout])
    blend = scores(gold, [analyze_kind(row.text).kind for row in heldout])
    assert blend["accuracy"] > rules["accuracy"]
    assert blend["macro_f1"] > rules["macro_f1"]


def test_the_model_is_built_once_and_cached_on_disk(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    first = kind_module.build_model()
    assert first is not None
    [cached] = list((tmp_path / "nlp" / "kind").glob("*/kind.joblib"))
    second = kind_module.build_model()
    assert second is not first  # loaded from the file, not trained again
    assert second.predict("Спасибо большое!")[0].keys() == first.predict("Спасибо большое!")[0].keys()
    assert cached.stat().st_size > 0


@pytest.mark.parametrize(("text", "_kind"), CASES)
def test_it_gives_a_negativity_between_zero_and_one(text, _kind):
    assert 0.0 <= analyze_kind(text).negative <= 1.0


def test_it_rates_insults_and_complaints_above_a_half_and_thanks_far_below():
    assert analyze_kind("Вы там все дебилы").negative > 0.8
    assert analyze_kind("Когда уже починят?!").negative > 0.8
    assert analyze_kind("Третий день нет горячей воды").negative >= 0.5
    assert analyze_kind("Дорогу не чистят").negative >= 0.5
    assert analyze_kind("Спасибо большое, молодцы!").negative < 0.1
    assert analyze_kind("Сегодня в парке прошёл субботник").negative < 0.5


def test_its_negativity_grows_with_the_complaint_markers():
    one = analyze_kind("Нет воды").negative
    two = analyze_kind("Опять нет воды").negative
    three = analyze_kind("Опять нет воды, безобразие").negative
    assert one < two < three


def test_it_does_not_take_ordinary_words_with_obscene_looking_letters_for_profanity():
    for text in ("Хулиганы разбили окно", "Похудел на школьных обедах", "Учеба в школе начнётся позже", "Победа!"):
        assert analyze_kind(text).kind != "abusive", text


def test_a_link_alone_is_not_spam():
    assert analyze_kind("Вот фото ямы https://vk.com/photo1_2 третий день не могут заделать").kind == "complaint"


def test_it_cleans_html_and_empty_text():
    assert analyze_kind("<p>Спасибо&nbsp;большое!</p>").kind == "gratitude"
    result = analyze_kind("")
    assert result.kind == "neutral"
    assert 0.0 <= result.negative <= 1.0
