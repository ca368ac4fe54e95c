"""Checkers for notebook 01's exercises."""

from __future__ import annotations

__all__: list[str] = []
