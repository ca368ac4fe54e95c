"""Checkers for notebook 02's exercises."""

from __future__ import annotations

__all__: list[str] = []
