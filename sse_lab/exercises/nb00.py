"""Checkers for notebook 00's exercises."""

from __future__ import annotations

__all__: list[str] = []
