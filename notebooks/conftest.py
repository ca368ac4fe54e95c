"""nbval runs each notebook the way JupyterLab does: the kernel learns the notebook's
path from ``JPY_SESSION_NAME``, so notebooks/zh-CN/ speaks Chinese (see sse_lab.i18n)."""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # nbval starts a notebook's kernel while setting up its first cell; the kernel
    # inherits this environment, as jupyter_server's does.
    if str(item.path).endswith(".ipynb"):
        os.environ["JPY_SESSION_NAME"] = str(item.path)
