"""Cleaning of post text before analysis: HTML, VK mentions, links, emoji, punctuation, look-alike letters.

`normalize()` is a pure function: it returns a new string and the caller keeps the original text.
Case is kept (the address extractor needs capitals); lowercasing for lemmas is `otklik.nlp.text`'s business.
"""

from __future__ import annotations

import html
import re

_BLOCK_TAG_RE = re.compile(r"<\s*(?:br|/?p|/?div|/?li|/?tr|/?h[1-6])\b[^>]*>", re.IGNORECASE)
_SCRIPT_STYLE_RE = re.compile(r"<\s*(script|style)\b[^>]*>.*?<\s*/\s*\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG_RE = re.compile(r"</?[a-zA-Z][^>]*>|<!--.*?-->", re.DOTALL)
_VK_MENTION_RE = re.compile(r"\[(?:id|club|public|event)\d+\|([^\]\[|]*)\]")
_LINK_RE = re.compile(
    r"(?:https?://|www\.)\S+|\b(?:vk\.com|vk\.cc|t\.me|ok\.ru)/\S*",
    re.IGNORECASE,
)
_EMOJI_RE = re.compile(
    "["
    "\U0001f000-\U0001faff"  # mahjong … symbols and pictographs extended-A (emoticons, transport, flags…)
    "\U0001fc00-\U0001ffff"
    "\u2600-\u27bf"  # miscellaneous symbols, dingbats
    "\u2b00-\u2bff"  # arrows, stars
    "\u2300-\u23ff"  # technical (⌚ ⏰)
    "\ufe00-\ufe0f"  # variation selectors
    "\u200d"  # zero-width joiner
    "\u20e3"  # combining keycap
    "\U000e0020-\U000e007f"  # tag characters (subdivision flags)
    "]+"
)
_ELLIPSIS_RE = re.compile(r"\.{3,}|…+")
_REPEATED_PUNCT_RE = re.compile(r"([!?,;:])\1+")
_HSPACE_RE = re.compile(r"[^\S\n]+")
_NEWLINES_RE = re.compile(r"\s*\n\s*")

_LOOKALIKES = str.maketrans(
    "aeopcxykmthbAEOPCXYKMTHB",
    "аеорсхукмтнвАЕОРСХУКМТНВ",
)
_MIXED_WORD_RE = re.compile(r"[A-Za-zА-Яа-яЁё]+")
_LATIN_RE = re.compile(r"[A-Za-z]")
_CYRILLIC_RE = re.compile(r"[А-Яа-яЁё]")


def _fix_lookalikes(match: re.Match[str]) -> str:
    word = match.group(0)
    latin = len(_LATIN_RE.findall(word))
    if not latin:
        return word
    cyrillic = len(_CYRILLIC_RE.findall(word))
    if cyrillic <= latin:
        return word
    return word.translate(_LOOKALIKES)


def normalize(text: str) -> str:
    """Text ready for analysis; see the module docstring. Newlines between paragraphs are kept (one each)."""
    if not text:
        return ""
    text = _SCRIPT_STYLE_RE.sub(" ", text)
    text = _BLOCK_TAG_RE.sub("\n", text)
    text = _TAG_RE.sub(" ", text)
    text = html.unescape(text).replace("\xa0", " ")
    text = _VK_MENTION_RE.sub(r"\1", text)
    text = _LINK_RE.sub(" ", text)
    text = _EMOJI_RE.sub(" ", text)
    text = _ELLIPSIS_RE.sub("…", text)
    text = _REPEATED_PUNCT_RE.sub(r"\1", text)
    text = _MIXED_WORD_RE.sub(_fix_lookalikes, text)
    text = _HSPACE_RE.sub(" ", text)
    text = _NEWLINES_RE.sub("\n", text)
    return text.strip()
