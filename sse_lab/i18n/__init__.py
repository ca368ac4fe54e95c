"""The lab's languages: English (the source strings) and Simplified Chinese (``zh-CN``).

Everything the lab says to a learner (chart titles and axes, widget labels and status
lines, exercise feedback, ``CHECK passed`` lines) goes through one gettext message
catalogue. The English text *is* the message id, so code reads naturally in English and
the two notebook editions share the very same code cells::

    from sse_lab.i18n import passed, say, tr

    say("{n} tokens arrived", n=42)           # 42 tokens arrived  /  收到 42 个 token
    passed("the stream ended with [DONE]")    # CHECK passed: ...  /  检查通过：...
    plt.title(tr("Time to first token"))

(each message in Chinese once the catalogue has it: ``python scripts/i18n.py sync``
adds the new ones, a translator fills them in, the tests refuse an empty one).

Which language? The first of:

1. :func:`set_language` (``sse_lab.set_language("zh-CN")``), for this kernel;
2. the ``SSE_LAB_LANG`` environment variable;
3. the notebook's own path, when it lies under a ``zh-CN`` folder (JupyterLab tells the
   kernel in ``JPY_SESSION_NAME``), so ``notebooks/zh-CN/`` speaks Chinese by itself;
4. the POSIX locale variables ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``;
5. English.

Translations live in ``sse_lab/i18n/locale/zh_CN/LC_MESSAGES/*.po`` (one file per area
of the lab, all one catalogue) and are compiled with Babel into a standard
:class:`gettext.GNUTranslations` the first time a non-English message is needed.
``python scripts/i18n.py check`` lists any message without a translation; the test
suite fails on one.
"""

from __future__ import annotations

import contextlib
import gettext
import io
import os
import string
import unicodedata
from collections.abc import Iterator
from pathlib import Path, PurePath

__all__ = [
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "display_width",
    "get_language",
    "ljust",
    "locale_folder",
    "normalize_language",
    "passed",
    "placeholders",
    "rjust",
    "say",
    "set_language",
    "tr",
    "trn",
    "translations",
    "use_language",
    "yes_no",
]

#: Languages the lab speaks, as BCP 47 tags (what ``set_language`` accepts and returns).
LANGUAGES: tuple[str, ...] = ("en", "zh-CN")

#: Where the catalogues live: ``LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "*.po"``.
LOCALE_DIR = Path(__file__).with_name("locale")

_ALIASES = {
    "en": "en", "en-us": "en", "en-gb": "en", "c": "en", "posix": "en",
    "zh": "zh-CN", "zh-cn": "zh-CN", "zh-hans": "zh-CN", "zh-hans-cn": "zh-CN",
    "zh-sg": "zh-CN", "chinese": "zh-CN",
}

_chosen: str | None = None
_cache: dict[str, gettext.NullTranslations] = {}


def normalize_language(tag: str) -> str | None:
    """``"zh_CN.UTF-8"``, ``"zh-Hans"``, ``"zh"`` -> ``"zh-CN"``; unknown -> ``None``."""
    key = tag.strip().split(".")[0].split("@")[0].replace("_", "-").lower()
    if key in _ALIASES:
        return _ALIASES[key]
    if key.startswith("en-"):
        return "en"
    if key.startswith("zh-") and not key.startswith(("zh-tw", "zh-hk", "zh-mo", "zh-hant")):
        return "zh-CN"
    return None


def set_language(language: str | None) -> str:
    """Speak ``language`` ("en" or "zh-CN") in this process from now on; return it.

    ``None`` goes back to choosing from the environment (see the module docstring).
    Charts and widgets made afterwards use the new language; ones already drawn keep
    theirs. An unknown language is a ``ValueError`` naming the ones the lab speaks.
    """
    global _chosen
    if language is None:
        _chosen = None
        return get_language()
    found = normalize_language(language)
    if found is None:
        raise ValueError(
            f"sse_lab speaks {', '.join(LANGUAGES)}; {language!r} is not one of them")
    _chosen = found
    return found


#: Folder names that make a notebook inside them Chinese (compared case-insensitively).
_EDITION_FOLDERS = {"zh-cn": "zh-CN", "zh_cn": "zh-CN", "zh-hans": "zh-CN"}


def _from_session_path(session: str) -> str | None:
    # The innermost edition folder wins; a folder merely starting with "zh" does not count.
    for part in reversed(PurePath(session).parts):
        found = _EDITION_FOLDERS.get(part.lower())
        if found is not None:
            return found
    return None


def get_language() -> str:
    """The language the lab speaks now: one of :data:`LANGUAGES`."""
    if _chosen is not None:
        return _chosen
    env = os.environ
    explicit = env.get("SSE_LAB_LANG", "").strip()
    if explicit:
        return normalize_language(explicit) or "en"
    session = env.get("JPY_SESSION_NAME", "")
    if session:
        found = _from_session_path(session)
        if found is not None:
            return found
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            # LANGUAGE is a priority list ("zh_CN:en"); the others hold one locale.
            for candidate in value.split(":"):
                found = normalize_language(candidate)
                if found is not None:
                    return found
            return "en"
    return "en"


@contextlib.contextmanager
def use_language(language: str) -> Iterator[str]:
    """Speak ``language`` inside a ``with`` block (tests, side-by-side charts)."""
    global _chosen
    before = _chosen
    chosen = set_language(language)
    try:
        yield chosen
    finally:
        _chosen = before


def locale_folder(language: str) -> Path:
    """The ``LC_MESSAGES`` folder of ``language`` ("zh-CN" -> ``.../zh_CN/LC_MESSAGES``)."""
    return LOCALE_DIR / language.replace("-", "_") / "LC_MESSAGES"


def translations(language: str | None = None) -> gettext.NullTranslations:
    """The compiled catalogue of ``language`` (default: the current one), cached."""
    language = get_language() if language is None else (normalize_language(language) or "en")
    cached = _cache.get(language)
    if cached is not None:
        return cached
    if language == "en":
        result: gettext.NullTranslations = gettext.NullTranslations()
    else:
        # Babel only when a translation is needed: English sessions never import it.
        from babel.messages.catalog import Catalog  # noqa: PLC0415
        from babel.messages.mofile import write_mo  # noqa: PLC0415
        from babel.messages.pofile import read_po  # noqa: PLC0415

        merged = Catalog(locale=language.replace("-", "_"))
        for po in sorted(locale_folder(language).glob("*.po")):
            with po.open("rb") as f:
                for message in read_po(f):
                    if message.id and message.string and not message.fuzzy:
                        merged[message.id] = message
        buffer = io.BytesIO()
        write_mo(buffer, merged)
        buffer.seek(0)
        result = gettext.GNUTranslations(buffer)
    _cache[language] = result
    return result


def _format(text: str, values: dict[str, object]) -> str:
    return text.format(**values) if values else text


def tr(message: str, /, **values: object) -> str:
    """``message`` in the current language, then ``str.format``-ed with ``values``.

    ``message`` is the English text and must be a literal where it is written, so the
    catalogue tools find it. Without ``values`` braces are left alone.
    """
    return _format(translations().gettext(message), values)


def trn(singular: str, plural: str, n: int, /, **values: object) -> str:
    """Like :func:`tr` with a plural: ``trn("{n} token", "{n} tokens", n, n=n)``."""
    return _format(translations().ngettext(singular, plural, n), values)


def N_(message: str, /) -> str:  # noqa: N802 - the gettext convention for "mark only"
    """Mark ``message`` for the catalogue without translating it now (labels kept as
    data and translated where they are shown, e.g. by the chart functions)."""
    return message


def yes_no(flag: object) -> str:
    """``yes`` or ``no`` in the current language (是 / 否), for a measured truth value:
    ``say("text identical: {same}", same=yes_no(a == b))`` rather than ``True``."""
    return tr("yes") if flag else tr("no")


def say(message: str, /, **values: object) -> None:
    """Print :func:`tr` of ``message``: a notebook's measured output, in its language."""
    print(tr(message, **values))


def passed(message: str, /, **values: object) -> None:
    """Print a check cell's verdict: ``CHECK passed: <message>``, in the current language.

    Call it after the cell's ``assert`` lines, with the measured numbers as ``values``.
    """
    print(tr("CHECK passed: {detail}", detail=tr(message, **values)))


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields of a message (what a translation must keep)."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def display_width(text: str) -> int:
    """Columns ``text`` takes in a monospaced output: CJK (wide) characters take two.

    ``str.ljust`` counts characters, so a Chinese label pushes its row's columns out
    of line; tables of the lab pad with :func:`ljust` / :func:`rjust` instead.
    """
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def ljust(text: str, width: int) -> str:
    """``text`` padded with spaces on the right to ``width`` display columns."""
    return text + " " * max(0, width - display_width(text))


def rjust(text: str, width: int) -> str:
    """``text`` padded with spaces on the left to ``width`` display columns."""
    return " " * max(0, width - display_width(text)) + text
