"""Keeping the message catalogue whole: find every message, check every translation.

The lab's messages are the literal first arguments of :func:`~sse_lab.i18n.tr`,
:func:`~sse_lab.i18n.trn`, :func:`~sse_lab.i18n.say`, :func:`~sse_lab.i18n.passed` and
:func:`~sse_lab.i18n.N_`, in the package, in the English notebooks' code cells (the
Chinese edition runs the same cells) and in the exercise solutions. :func:`problems`
lists, per language, every message without a translation, every translation whose
``{placeholders}`` differ from the English, every catalogue entry nothing uses any
more, and every call whose message is not a literal (the tools could not see it).
:func:`sync` adds new messages, untranslated, to the catalogue file of their area, for a
translator to fill in (``python scripts/i18n.py sync``).

The browser pages (``sse_lab/server/static``) share the catalogue (area ``pages``):
:func:`page_messages` finds the literal first arguments of ``t("...")`` and ``N_("...")``
in their JavaScript and the text of HTML elements marked ``data-i18n`` (a ``<code>``
child written as `` `code` ``), as ``static/i18n.js`` looks them up.
"""

from __future__ import annotations

import ast
import html.parser
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sse_lab.i18n import LANGUAGES, locale_folder, placeholders

__all__ = ["KEYWORDS", "STATIC", "Message", "area_of", "catalogue", "extract", "page_messages",
           "problems", "sync"]

#: Function name -> how many leading literal arguments are messages.
KEYWORDS: dict[str, int] = {"tr": 1, "say": 1, "passed": 1, "N_": 1, "trn": 2}

PACKAGE = Path(__file__).resolve().parents[1]
ROOT = PACKAGE.parent
#: The browser pages' folder (HTML and JavaScript), area ``pages``.
STATIC = PACKAGE / "server" / "static"


@dataclass(frozen=True)
class Message:
    """One use of a message: its English text (and plural), where it is, its area."""

    id: str
    plural: str | None
    where: str
    area: str
    literal: bool = True


def area_of(path: Path) -> str:
    """The catalogue file a message belongs to, from where it is used.

    ``sse_lab/lab/plots/...`` -> ``plots``, ``.../widgets/...`` -> ``widgets``, the rest of
    ``sse_lab/lab/`` -> ``lab``, ``sse_lab/exercises/`` -> ``exercises``,
    ``sse_lab/dialects/`` -> ``dialects``, ``sse_lab/server/static/`` -> ``pages``;
    ``notebooks/05-....ipynb`` and its solutions
    -> ``nb05``; the rest of the package -> ``core``.
    """
    rel = path.resolve().relative_to(ROOT).as_posix()
    for prefix, area in (("sse_lab/lab/plots/", "plots"), ("sse_lab/lab/widgets/", "widgets"),
                         ("sse_lab/lab/", "lab"), ("sse_lab/exercises/", "exercises"),
                         ("sse_lab/dialects/", "dialects"),
                         ("sse_lab/server/static/", "pages")):
        if rel.startswith(prefix):
            return area
    if rel.startswith("notebooks/"):
        return "nb" + path.name[:2]
    return "core"


def _calls(tree: ast.AST, where: str, area: str) -> list[Message]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = (node.func.id if isinstance(node.func, ast.Name)
                else node.func.attr if isinstance(node.func, ast.Attribute) else None)
        count = KEYWORDS.get(name or "")
        if not count or len(node.args) < count:
            continue
        args = node.args[:count]
        at = f"{where}:{node.lineno}"
        if all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
            texts = [a.value for a in args]  # type: ignore[attr-defined]
            found.append(Message(texts[0], texts[1] if count == 2 else None, at, area))
        elif any(isinstance(a, ast.JoinedStr) for a in args) or name in ("say", "passed"):
            # An f-string or a variable as the message: the catalogue cannot hold it.
            found.append(Message(ast.unparse(args[0]), None, at, area, literal=False))
    return found


def _notebook_cells(path: Path) -> list[ast.Module]:
    """Each code cell parsed as IPython runs it (top-level ``await`` allowed)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    trees = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        # IPython syntax (%magic, !shell) is not Python; blank it, keeping line numbers.
        source = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln
                           for ln in source.splitlines())
        trees.append(compile(source, str(path), "exec",
                             flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT))
    return trees


# t("...") / N_("...") in page JavaScript: a double-quoted literal (JSON-compatible
# escapes). t(`...`) or t('...') is reported: the extractor reads only "..." literals.
_JS_CALL = re.compile(r"""(?<![\w$.])(t|N_)\(\s*(?:"((?:[^"\\\n]|\\.)*)"|([`']))""")


class _MarkedText(html.parser.HTMLParser):
    """The text of every ``data-i18n`` element, as ``i18n.js``'s ``messageOf`` reads it."""

    VOID = frozenset({"input", "br", "meta", "link", "img", "hr", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, int]] = []
        # One entry per open element: its tag and, if marked data-i18n, its text so far.
        self._stack: list[tuple[str, list[str] | None, int]] = []

    def _marked(self) -> list[str] | None:
        return next((pieces for _, pieces, _ in reversed(self._stack) if pieces is not None),
                    None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            names = dict(attrs)
            if "data-i18n-label" in names and names.get("aria-label"):
                self.found.append((names["aria-label"] or "", self.getpos()[0]))
            return
        inside = self._marked()
        if tag == "code" and inside is not None:
            inside.append("`")
        names = dict(attrs)
        if "data-i18n-label" in names and names.get("aria-label"):
            self.found.append((names["aria-label"] or "", self.getpos()[0]))
        marked = "data-i18n" in names
        self._stack.append((tag, [] if marked else None, self.getpos()[0]))

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            open_tag, pieces, line = self._stack.pop()
            if pieces is not None:
                self.found.append((" ".join("".join(pieces).split()), line))
            if open_tag == tag:
                break
        inside = self._marked()
        if tag == "code" and inside is not None:
            inside.append("`")

    def handle_data(self, data: str) -> None:
        inside = self._marked()
        if inside is not None:
            inside.append(data)


def page_messages(static: Path = STATIC, root: Path = ROOT) -> list[Message]:
    """Every message of the browser pages: ``t("...")``/``N_("...")`` and ``data-i18n`` text."""
    found: list[Message] = []
    for path in sorted([*static.glob("*.js"), *static.glob("*.html")]):
        text = path.read_text(encoding="utf-8")
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:  # an installed package: no repository around it
            rel = "sse_lab/server/static/" + path.name
        for match in _JS_CALL.finditer(text):
            if "//" in text[text.rfind("\n", 0, match.start()) + 1:match.start()]:
                continue  # an example in a comment
            line = text.count("\n", 0, match.start()) + 1
            if match.group(3):
                found.append(Message(match.group(0), None, f"{rel}:{line}", "pages",
                                     literal=False))
            else:
                found.append(Message(json.loads(f'"{match.group(2)}"'), None,
                                     f"{rel}:{line}", "pages"))
        if path.suffix == ".html":
            parser = _MarkedText()
            parser.feed(text)
            parser.close()
            found += [Message(mid, None, f"{rel}:{line}", "pages")
                      for mid, line in parser.found if mid]
    return found


def extract(root: Path = ROOT) -> list[Message]:
    """Every message used in the package, the English notebooks and the solutions."""
    found: list[Message] = []
    sources = sorted((root / "sse_lab").rglob("*.py"))
    sources += sorted((root / "notebooks" / "solutions").glob("*.py"))
    for path in sources:
        if path.name == "catalogue.py" and path.parent.name == "i18n":
            continue
        rel = path.relative_to(root).as_posix()
        found += _calls(ast.parse(path.read_text(encoding="utf-8")), rel, area_of(path))
    for path in sorted((root / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        rel = path.relative_to(root).as_posix()
        for number, tree in enumerate(_notebook_cells(path), start=1):
            found += _calls(tree, f"{rel}#cell{number}", area_of(path))
    found += page_messages(root / "sse_lab" / "server" / "static", root)
    return found


def catalogue(language: str) -> dict[str, dict[str, tuple[str | tuple[str, ...], bool]]]:
    """``{area: {message id: (translation, fuzzy)}}`` as stored for ``language``."""
    from babel.messages.pofile import read_po  # noqa: PLC0415 - tooling, not run time

    result = {}
    for po in sorted(locale_folder(language).glob("*.po")):
        with po.open("rb") as f:
            result[po.stem] = {m.id if isinstance(m.id, str) else m.id[0]:
                               (m.string, m.fuzzy) for m in read_po(f) if m.id}
    return result


def problems(language: str = "zh-CN", root: Path = ROOT) -> list[str]:
    """Everything wrong with ``language``'s catalogue; empty when it is whole."""
    used = extract(root)
    out = [f"{m.where}: the message {m.id} is not a literal string, so it cannot be "
           "translated; pass the English text itself and the values as keywords"
           for m in used if not m.literal]
    stored = catalogue(language)
    merged: dict[str, tuple[str, str | tuple[str, ...], bool]] = {}
    for area, entries in stored.items():
        for mid, (text, fuzzy) in entries.items():
            if mid in merged and merged[mid][1] != text:
                out.append(f"{area}.po and {merged[mid][0]}.po translate {mid!r} differently")
            merged[mid] = (area, text, fuzzy)
    ids = {m.id for m in used if m.literal}

    def filled(text: str | tuple[str, ...]) -> bool:
        # A plural entry is a tuple of forms: every form must be there.
        return bool(text) if isinstance(text, str) else bool(text) and all(text)

    for m in used:
        if not m.literal or m.id in merged and filled(merged[m.id][1]) and not merged[m.id][2]:
            continue
        if m.id in merged and merged[m.id][2]:
            out.append(f"{m.where}: the translation of {m.id!r} is marked fuzzy")
        elif m.id in merged:
            out.append(f"{m.where}: {m.id!r} has an empty translation in {merged[m.id][0]}.po")
        else:
            out.append(f"{m.where}: {m.id!r} is not in any {language} catalogue "
                       f"(run: python scripts/i18n.py sync)")
    for mid, (area, text, _) in merged.items():
        if mid not in ids:
            out.append(f"{area}.po: {mid!r} is used nowhere any more")
            continue
        for one in (text,) if isinstance(text, str) else text:
            if one and placeholders(one) != placeholders(mid):
                out.append(f"{area}.po: the translation of {mid!r} has placeholders "
                           f"{sorted(placeholders(one))}, the English {sorted(placeholders(mid))}")
    out += _gettext_tool_problems(language)
    return sorted(set(out))


def _gettext_tool_problems(language: str) -> list[str]:
    """What GNU ``msgfmt --check`` would refuse, found with Babel's own checks.

    The lab's messages use ``{braces}``; a message that merely *looks* like a
    ``%``-format (``"5% of"`` reads as ``% o``) is flagged ``python-format`` by the tools,
    and then a translation without the same directive fails to compile.
    """
    from babel.messages.pofile import read_po  # noqa: PLC0415 - tooling, not run time

    out = []
    for po in sorted(locale_folder(language).glob("*.po")):
        with po.open("rb") as f:
            cat = read_po(f)
        for message in cat:
            mid = message.id if isinstance(message.id, str) else message.id[0]
            if mid and "python-format" in message.flags:
                out.append(f"{po.name}: {mid!r} looks like a %-format to gettext tools "
                           "(e.g. '5% of' reads as '% o'): write 'percent' or rephrase")
        for message, errors in cat.check():
            out += [f"{po.name}: {message.id!r}: {error}" for error in errors]
    return out


def sync(areas: list[str] | None = None, language: str = "zh-CN", root: Path = ROOT) -> list[str]:
    """Add new messages (untranslated) to their area's catalogue file; drop unused ones.

    Only the ``areas`` named (default: all) are written. Returns what changed.
    """
    from babel.messages.catalog import Catalog  # noqa: PLC0415 - tooling, not run time
    from babel.messages.pofile import read_po, write_po  # noqa: PLC0415

    used = [m for m in extract(root) if m.literal]
    stored = catalogue(language)
    known = {mid for entries in stored.values() for mid in entries}
    folder = locale_folder(language)
    folder.mkdir(parents=True, exist_ok=True)
    changes = []
    for area in sorted({m.area for m in used} | set(stored)):
        if areas and area not in areas:
            continue
        path = folder / f"{area}.po"
        if path.exists():
            with path.open("rb") as f:
                cat = read_po(f, locale=language.replace("-", "_"))
        else:
            cat = Catalog(locale=language.replace("-", "_"), project="sse_lab",
                          version="0.1", copyright_holder="the sse_lab authors",
                          msgid_bugs_address="",
                          last_translator="sse_lab zh-CN", language_team="sse_lab zh-CN",
                          revision_date=datetime.now(timezone.utc), fuzzy=False,
                          header_comment="# Translations of sse_lab's messages.\n"
                                         "# The sse_lab authors.")
        mine = [m for m in used if m.area == area]
        ids = {m.id for m in used}
        for m in mine:
            if m.id not in known and m.id not in cat:
                cat.add((m.id, m.plural) if m.plural else m.id,
                        ("", "") if m.plural else "", locations=[(m.where.rsplit(":", 1)[0],
                                                                  int(m.where.rsplit(":", 1)[1]))])
                known.add(m.id)
                changes.append(f"{area}.po: + {m.id!r}")
        for message in list(cat):
            mid = message.id if isinstance(message.id, str) else message.id[0]
            if mid and mid not in ids:
                cat.delete(message.id)
                changes.append(f"{area}.po: - {mid!r}")
        if len(cat) or path.exists():
            with path.open("wb") as f:
                write_po(f, cat, width=100, no_location=True, omit_header=False,
                         sort_output=False)
    return changes


if __name__ == "__main__":  # pragma: no cover - see scripts/i18n.py
    assert LANGUAGES
