"""Placeholder: filled in by the issue-4 work."""

from __future__ import annotations

from typing import Any


def routes(lab: Any) -> list[tuple[Any, ...]]:
    """Tornado routes this module adds to the lab server."""
    return []
