"""The Chinese edition as a Chinese learner sees it: JupyterLab in Chinese, the lab in Chinese.

JupyterLab is started the way ``make lab EDITION=zh-CN`` starts it: the interface
language comes from a settings override (``overrides.d/`` in a private
``app_settings_dir``) and ``jupyterlab-language-pack-zh-CN``. The test opens a notebook
under a ``zh-CN/`` folder and runs it from the Chinese menu (运行 → 运行所有单元格), like a
learner; the kernel must pick Chinese by itself from the notebook's folder (nothing in
the notebook sets the language). Then the rendered outputs must be Chinese: the check
cell's ``检查通过``, a measured table from :mod:`sse_lab.lab`, a chart whose panel titles
are the lab's Chinese path names (drawn in a CJK font, an image in the page), and a
widget that streamed a Chinese answer. Screenshots go to
``test-artifacts/zh-CN-lab-*.png`` (look at them: no tofu boxes).

The notebook is a tiny one written here (``zh-CN/zh-lab-check.ipynb``: every element
above, seconds to run); every real zh-CN notebook runs in JupyterLab in
``test_jupyterlab.py``.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .labdriver import (
    NOTEBOOKS,
    JupyterLab,
    capture_notebook,
    cell_errors,
    open_notebook,
    wait_all_executed,
)

CHECK_NOTEBOOK = "zh-CN/zh-lab-check.ipynb"
RUN_BUDGET = 60.0  # s from Run All to the last execution count

#: The same override ``make lab EDITION=zh-CN`` writes (see the Makefile's lab target).
INTERFACE_OVERRIDE = {"@jupyterlab/translation-extension:plugin": {"locale": "zh_CN"}}

CELLS = [
    # No set_language anywhere: the notebook's folder is what makes the kernel speak Chinese.
    """import ipywidgets as widgets
from IPython.display import Markdown, display

from sse_lab import start_server
from sse_lab.i18n import get_language, passed, say, tr
from sse_lab.lab import experiments, plots
from sse_lab.lab.widgets import TypewriterView
from sse_lab.lab.xray import buffering_xray_sync
from sse_lab.server import ServerConfig

server = start_server(config=ServerConfig(teaching_routes=True))
language = get_language()
say("{n} samples over {t:.2f} s", n=3, t=1.5)""",
    """xray = buffering_xray_sync(server.url, prompt="你好", speed=8, paths=["direct", "noflush"])
fig = plots.emit_vs_receive_grid(xray.emit_times, xray.recordings, titles=xray.descriptions)
fig""",
    """measured = experiments.transport_measurements(
    {"sse": xray.recordings["direct"]}, xray.emit_times)
display(Markdown(experiments.comparison_markdown(measured)))""",
    """view = TypewriterView(title=tr("measured: time to first token"))
display(view)
rec = await view.play(server.url + "/chat?prompt=你好&speed=4")""",
    """assert language == "zh-CN", language
assert "直连" in xray.descriptions["direct"]
assert rec.done and rec.text.startswith("我")
passed("{n} samples over {t:.2f} s", n=len(rec.tokens), t=1.0)
server.stop()""",
]


def _check_notebook() -> dict[str, Any]:
    intro = "# 中文版检查\n\n内核根据笔记本所在的文件夹自己选择中文。"
    cells = [{"cell_type": "markdown", "metadata": {}, "source": intro}]
    cells += [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
               "source": src} for src in CELLS]
    return {
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@pytest.fixture(scope="module")
def zh_lab(browser_context: Any, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[JupyterLab]:
    """A JupyterLab over notebooks/ plus the check notebook, its interface in Chinese.

    It asks for ``browser_context`` first, so without Chromium it is skipped the way
    every browser test is (and never started for nothing).
    """
    source = tmp_path_factory.mktemp("zh-source") / "notebooks"
    shutil.copytree(NOTEBOOKS, source, ignore=shutil.ignore_patterns(
        ".ipynb_checkpoints", "__pycache__"))
    (source / CHECK_NOTEBOOK).parent.mkdir(exist_ok=True)
    (source / CHECK_NOTEBOOK).write_text(json.dumps(_check_notebook(), ensure_ascii=False),
                                         encoding="utf-8")
    lab = JupyterLab(source=source)
    # JupyterLab reads its config from JUPYTER_CONFIG_DIR (root/home/config for this lab).
    app_settings = lab.root / "home" / "app-settings"
    (app_settings / "overrides.d").mkdir(parents=True)
    (app_settings / "overrides.d" / "sse-lab-zh-CN.json").write_text(
        json.dumps(INTERFACE_OVERRIDE), encoding="utf-8")
    config = lab.root / "home" / "config"
    config.mkdir(parents=True)
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"LabApp": {"app_settings_dir": str(app_settings)}}), encoding="utf-8")
    lab.start()
    yield lab
    lab.stop()


def _run_all_from_the_chinese_menu(page: Any) -> None:
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^运行$")).click()
    page.locator(".lm-Menu-item:visible", has_text=re.compile(r"^运行所有单元格")).first.click()


def _run(page: Any, lab: JupyterLab, name: str, shot: Path) -> str:
    """Open ``name``, run all from the Chinese menu, screenshot; the outputs' text."""
    open_notebook(page, lab.url, name)
    shot.unlink(missing_ok=True)
    try:
        menu = page.locator(".lm-MenuBar").inner_text()
        assert "文件" in menu and "运行" in menu, (
            f"JupyterLab's menus are not Chinese: {menu!r}; is jupyterlab-language-pack-zh-CN "
            "(a dependency) installed? pip install -e .")
        _run_all_from_the_chinese_menu(page)
        wait_all_executed(page, timeout=RUN_BUDGET)
        page.wait_for_timeout(500)  # last widget/plot updates
        assert cell_errors(page) == []
        capture_notebook(page, shot)
        return "\n".join(page.locator(".jp-OutputArea-output").all_text_contents())
    except BaseException:
        if not shot.exists():
            with contextlib.suppress(Exception):
                capture_notebook(page, shot)
        raise
    finally:
        with contextlib.suppress(Exception):
            page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")


@pytest.mark.timeout(RUN_BUDGET + 120)
def test_zh_cn_notebook_speaks_chinese_in_a_chinese_jupyterlab(
    page: Any, zh_lab: JupyterLab, artifacts: Path
) -> None:
    said = _run(page, zh_lab, CHECK_NOTEBOOK, artifacts / "zh-CN-lab-check.png")
    assert "检查通过：" in said and "CHECK passed" not in said, said[-2000:]
    assert "1.50 s 内共 3 个样本" in said  # say(): the kernel chose Chinese by itself
    assert "实测：首 token 时间" in said  # the lab's table and the widget's title
    assert "特性" in said and "feature" not in said
    assert "我是你的AI助手" in said.replace(" ", "")  # the streamed Chinese answer
    # The chart is an image in the page (its Chinese titles are drawn in a CJK font:
    # look at the screenshot).
    images = page.locator(".jp-OutputArea-output img")
    assert images.count() >= 1
