"""Helpers of the answer-check tests: findings of one code, and the phrases they flag."""

from __future__ import annotations

from otklik.answers.checks import Finding, run_checks


def of(code: str, text: str, complaint: str = "", attachments: int = 0) -> list[Finding]:
    return [f for f in run_checks(text, complaint, attachments=attachments) if f.code == code]


def flagged(code: str, text: str, complaint: str = "", attachments: int = 0) -> list[str]:
    """The flagged phrases, sliced from the text by each finding's offsets."""
    return [text[f.start : f.end] for f in of(code, text, complaint, attachments)]
