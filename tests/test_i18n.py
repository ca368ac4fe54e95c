"""The two editions: the message catalogue is whole, the notebooks' code cells match.

Every message the lab shows (charts, widgets, checker feedback, ``CHECK passed``
lines) has a Chinese translation with the same ``{placeholders}``; each zh-CN notebook
runs exactly the English notebook's code (comments may be translated); the language
follows ``set_language``, ``SSE_LAB_LANG``, the notebook's folder or the locale.
"""

from __future__ import annotations

import io
import json
import re
import tokenize
from pathlib import Path

import pytest

from sse_lab import i18n
from sse_lab.i18n.catalogue import extract, problems

ROOT = Path(__file__).parent.parent
ENGLISH = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch):
    for name in ("SSE_LAB_LANG", "JPY_SESSION_NAME", "LANGUAGE", "LC_ALL", "LC_MESSAGES",
                 "LANG"):
        monkeypatch.delenv(name, raising=False)
    i18n.set_language(None)
    yield
    i18n.set_language(None)


def test_every_message_has_a_translation_with_the_same_placeholders() -> None:
    found = problems("zh-CN")
    assert not found, "\n".join(found[:40]) + f"\n... {len(found)} problem(s) in all"


def test_the_catalogue_tools_see_the_lab_s_messages() -> None:
    used = extract()
    areas = {m.area for m in used}
    assert "core" in areas
    assert len({m.id for m in used}) >= 1


def test_language_choice_order(monkeypatch: pytest.MonkeyPatch) -> None:
    assert i18n.get_language() == "en"
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert i18n.get_language() == "zh-CN"
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert i18n.get_language() == "en"
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/sse_lab/notebooks/zh-CN/05-latency.ipynb")
    assert i18n.get_language() == "zh-CN", "a notebook under zh-CN/ speaks Chinese"
    monkeypatch.setenv("JPY_SESSION_NAME", "zh-CN/05-latency.ipynb")  # relative, as Jupyter sends
    assert i18n.get_language() == "zh-CN"
    monkeypatch.setenv("JPY_SESSION_NAME", "zh-notes/05-latency.ipynb")
    assert i18n.get_language() == "en", "only an edition folder makes a notebook Chinese"
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/sse_lab/notebooks/zh-CN/05-latency.ipynb")
    monkeypatch.setenv("SSE_LAB_LANG", "en")
    assert i18n.get_language() == "en", "SSE_LAB_LANG comes before the notebook's folder"
    assert i18n.set_language("zh-Hans") == "zh-CN"
    assert i18n.get_language() == "zh-CN", "set_language comes first"


def test_unknown_language_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"en, zh-CN.*'fr'"):
        i18n.set_language("fr")
    assert i18n.normalize_language("zh_TW") is None, "Traditional Chinese is not Simplified"


def test_passed_line_in_both_languages(capsys: pytest.CaptureFixture[str]) -> None:
    i18n.passed("the stream ended with [DONE]")
    with i18n.use_language("zh-CN"):
        i18n.passed("the stream ended with [DONE]")
        assert i18n.get_language() == "zh-CN"
    assert i18n.get_language() == "en"
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "CHECK passed: the stream ended with [DONE]"
    assert out[1].startswith("检查通过：")


def test_top_level_set_language() -> None:
    import sse_lab

    assert sse_lab.set_language("zh-CN") == "zh-CN"
    assert sse_lab.get_language() == "zh-CN"


def _code_tokens(code: str) -> list[tuple[int, str]]:
    """A cell's code without its comments: what parity compares."""
    code = "\n".join("pass  # " + ln if ln.lstrip().startswith(("%", "!")) else ln
                     for ln in code.splitlines())
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING}
    toks = tokenize.generate_tokens(io.StringIO(code + "\n").readline)
    return [(t.type, t.string) for t in toks if t.type not in skip]


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


@pytest.mark.parametrize("english", ENGLISH, ids=lambda p: p.name)
def test_zh_cn_edition_runs_the_same_code(english: Path) -> None:
    chinese = english.parent / "zh-CN" / english.name
    assert chinese.exists(), f"notebooks/zh-CN/{english.name} is missing"
    en = [c for c in _cells(english) if c["cell_type"] == "code"]
    zh = [c for c in _cells(chinese) if c["cell_type"] == "code"]
    assert len(en) == len(zh), f"{english.name}: {len(en)} code cells, zh-CN has {len(zh)}"
    for i, (a, b) in enumerate(zip(en, zh, strict=True)):
        assert _code_tokens(_source(a)) == _code_tokens(_source(b)), (
            f"{english.name} code cell {i + 1} differs between the editions:\n"
            f"--- en\n{_source(a)}\n--- zh-CN\n{_source(b)}")
        assert a.get("metadata", {}).get("tags", []) == b.get("metadata", {}).get("tags", []), (
            f"{english.name} code cell {i + 1}: the nbval tags differ")


@pytest.mark.parametrize("english", ENGLISH, ids=lambda p: p.name)
def test_zh_cn_prose_is_chinese(english: Path) -> None:
    chinese = english.parent / "zh-CN" / english.name
    assert chinese.exists(), f"notebooks/zh-CN/{english.name} is missing"
    for i, cell in enumerate(_cells(chinese)):
        if cell["cell_type"] != "markdown":
            continue
        text = re.sub(r"```.*?```|`[^`]*`|\$[^$]*\$|https?://\S+", "", _source(cell), flags=re.S)
        letters = re.findall(r"[A-Za-z]", text)
        hanzi = CJK.findall(text)
        assert hanzi, f"zh-CN/{english.name} markdown cell {i + 1} has no Chinese"
        assert len(hanzi) * 2 >= len(letters) * 0.5, (
            f"zh-CN/{english.name} markdown cell {i + 1} reads mostly English")


def test_padding_counts_display_columns() -> None:
    assert i18n.display_width("首 token 时间") == 2 + 1 + 5 + 1 + 4
    assert i18n.ljust("首字", 6) == "首字  "
    assert i18n.rjust("ab", 4) == "  ab"
    assert i18n.ljust("长长长长", 2) == "长长长长", "never cut, only pad"


def test_yes_no_speaks_the_language() -> None:
    assert (i18n.yes_no(True), i18n.yes_no(0)) == ("yes", "no")
    with i18n.use_language("zh-CN"):
        assert (i18n.yes_no(1), i18n.yes_no(False)) == ("是", "否")


def test_a_message_gettext_tools_would_take_for_a_percent_format_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "5% of" reads as the directive "% o" to msgfmt --check: the .po would not compile.
    from sse_lab.i18n import catalogue as tools

    folder = tmp_path / "zh_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "nb99.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "within 5% of the mean"\nmsgstr "偏离平均值不超过 5%"\n', encoding="utf-8")
    monkeypatch.setattr(tools, "locale_folder", lambda language: folder)
    found = tools.problems("zh-CN")
    assert any("looks like a %-format" in line for line in found), found[:5]
