"""Checkers for notebook 05's exercises."""

from __future__ import annotations

__all__: list[str] = []
