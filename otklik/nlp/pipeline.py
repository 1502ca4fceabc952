"""Analysis of an incoming post (placeholder until the classifier lands)."""

from __future__ import annotations


def analyze_post(post_id: int) -> str:
    return "skipped"


def sweep_unanalyzed() -> int:
    return 0
