"""Step 2 of the pipeline (otklik.nlp.kind): the kind of a post and its negativity, on hand-written cases."""

from __future__ import annotations

import pytest

from otklik.nlp.kind import analyze_kind

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


@pytest.mark.parametrize(("text", "kind"), CASES)
def test_it_finds_the_kind_of_a_hand_written_post(text, kind):
    assert analyze_kind(text).kind == kind


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
