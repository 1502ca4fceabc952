"""OpenAPI generation hooks (drf-spectacular)."""

from __future__ import annotations

from typing import Any


def strip_optional_slash(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[tuple[Any, ...]]:
    """Paths are matched with an optional trailing slash (`/?$`); document them without it, as the issue does."""
    result = []
    for path, path_regex, method, callback in endpoints:
        if path.endswith("/") and path != "/":
            path = path.rstrip("/")
        result.append((path, path_regex, method, callback))
    return result
