"""Hand-written hard cases for text normalisation (otklik.nlp.normalize)."""

from __future__ import annotations

from otklik.nlp.normalize import normalize


def test_it_strips_tags_and_turns_paragraphs_and_breaks_into_newlines() -> None:
    text = '<p style="color:red">Нет&nbsp;воды</p><p>Третий день<br/>Когда дадут?</p>'
    assert normalize(text) == "Нет воды\nТретий день\nКогда дадут?"


def test_it_unescapes_html_entities() -> None:
    assert normalize("Дом&nbsp;№&nbsp;5 &amp; двор &quot;Уют&quot;") == 'Дом № 5 & двор "Уют"'


def test_it_drops_inline_styles_and_scripts_with_their_content() -> None:
    text = "<style>p {color: red}</style><span style='font-weight:bold'>Яма</span><script>alert(1)</script>"
    assert normalize(text) == "Яма"


def test_it_replaces_vk_mentions_by_the_name() -> None:
    assert normalize("[id123|Иван Петров], [club1|Администрация города] ответьте") == (
        "Иван Петров, Администрация города ответьте"
    )


def test_it_removes_links() -> None:
    assert normalize("смотрите https://vk.com/wall-1_2 и www.site.ru/page тут") == "смотрите и тут"


def test_it_removes_emoji_including_joined_and_flag_sequences() -> None:
    assert normalize("Ура 😡😡🔥 ❤️ спасибо 👨‍👩‍👧 🇷🇺!") == "Ура спасибо !"


def test_it_collapses_repeated_exclamation_and_question_marks() -> None:
    assert normalize("Нет воды!!!! Когда????? Доколе?!") == "Нет воды! Когда? Доколе?!"


def test_it_turns_a_run_of_dots_into_an_ellipsis() -> None:
    assert normalize("нет воды...... совсем… опять.") == "нет воды… совсем… опять."


def test_it_replaces_latin_look_alikes_inside_cyrillic_words() -> None:
    # «Пoмoгитe» with Latin o and e; «вoды» with Latin o; capital Latin «C» in «Cвет».
    assert normalize("Пoмoгитe, нет вoды, Cвета нет") == "Помогите, нет воды, Света нет"


def test_it_keeps_latin_words_untouched() -> None:
    assert normalize("Mosvodokanal и iPhone") == "Mosvodokanal и iPhone"


def test_it_collapses_whitespace_and_blank_lines() -> None:
    assert normalize("  много \t  пробелов \n\n\n  и строк ") == "много пробелов\nи строк"


def test_it_returns_an_empty_string_for_empty_input_and_keeps_the_original() -> None:
    original = "<b>Яма!!!</b>"
    assert normalize("") == ""
    assert normalize(original) == "Яма!"
    assert original == "<b>Яма!!!</b>"
