"""The widgets' shared look: theme colours, the status pill, the answer box, timings.

Colours are JupyterLab theme variables with light fallbacks, so the widgets
follow a dark theme in JupyterLab and still look right in classic Notebook
or nbconvert. Everything here returns HTML strings for an ``HTML`` widget;
text that came from a server is escaped here, never trusted as HTML.
"""

from __future__ import annotations

import html

from sse_lab.i18n import N_, tr
from sse_lab.recording import Recording

__all__ = [
    "BG", "BG_SOFT", "BORDER", "FG", "MAX_UPDATES_PER_SECOND", "MONO", "MUTED", "SANS",
    "STATUS_COLORS", "STATUS_LABELS", "STYLE", "TICK_HZ", "first_token_time", "ms_html",
    "status_label", "status_pill", "text_box",
]


#: Upper bound on coalesced front-end updates per second of a TypewriterView.
MAX_UPDATES_PER_SECOND = 30

#: How often the elapsed-time displays tick while nothing else changes (Hz).
TICK_HZ = 10


# -- shared look ---------------------------------------------------------------
# JupyterLab theme variables with light fallbacks, so the widgets follow a dark
# theme in JupyterLab and still look right in classic Notebook or nbconvert.
FG = "var(--jp-content-font-color1, #1f2328)"
MUTED = "var(--jp-content-font-color2, #656d76)"
BG = "var(--jp-layout-color1, #ffffff)"
BG_SOFT = "var(--jp-layout-color2, #f6f8fa)"
BORDER = "var(--jp-border-color1, #d0d7de)"
MONO = "var(--jp-code-font-family, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace)"
SANS = "var(--jp-ui-font-family, system-ui, -apple-system, 'Segoe UI', sans-serif)"

# <style> inside an HTML widget applies to the whole page, so every class is
# prefixed. Keyframes cannot be written inline; this block carries them.
STYLE = """<style>
@keyframes sse-lab-spin { to { transform: rotate(360deg); } }
@keyframes sse-lab-blink { 50% { opacity: 0; } }
.sse-lab-spinner { display:inline-block; width:14px; height:14px; vertical-align:-2px;
  border:2px solid #d0d7de; border-top-color:#0969da; border-radius:50%;
  animation: sse-lab-spin 0.8s linear infinite; margin-right:8px; }
.sse-lab-cursor { animation: sse-lab-blink 1s step-end infinite; color:#0969da; }
.sse-lab-ctl { color:#cf222e; background:rgba(207,34,46,0.08); border-radius:3px;
  padding:0 2px; font-weight:600; }
.sse-lab-byte { color:#8250df; background:rgba(130,80,223,0.10); border-radius:3px;
  padding:0 2px; }
.sse-lab-table { border-collapse:collapse; font-size:12px; margin:4px 0; }
.sse-lab-table th, .sse-lab-table td { border:1px solid #d0d7de; padding:2px 8px;
  text-align:left; vertical-align:top; }
.sse-lab-table th { background:rgba(127,127,127,0.08); font-weight:600; }
</style>"""

STATUS_COLORS = {
    "idle": "#6e7781",
    "connecting": "#9a6700",
    "streaming": "#0969da",
    "done": "#1a7f37",
    "error": "#cf222e",
    "stopped": "#8250df",
}


#: What each status pill says (English; shown through :func:`status_label`). The
#: ``status`` attributes stay these English words, so code and tests can compare them.
STATUS_LABELS = {
    "idle": N_("idle"),
    "connecting": N_("connecting"),
    "streaming": N_("streaming"),
    "done": N_("done"),
    "error": N_("error"),
    "stopped": N_("stopped"),
    "waiting": N_("waiting"),
    "sampling": N_("sampling"),
}


def status_label(status: str) -> str:
    """The pill text of ``status`` in the current language (``"done"`` -> ``完成``)."""
    label = STATUS_LABELS.get(status)
    return tr(label) if label is not None else status


def status_pill(text: str, color: str) -> str:
    """A coloured pill holding ``text`` (escaped): pass :func:`status_label` of a status."""
    return (
        f'<span style="display:inline-block;padding:1px 10px;border-radius:10px;'
        f"font-size:11px;font-weight:600;letter-spacing:0.03em;color:#fff;"
        f'background:{color};">{html.escape(text)}</span>'
    )


def text_box(text: str, *, cursor: bool = False, placeholder: str = "") -> str:
    """The answer area: escaped text, wrapping, scrolled to the newest line.

    ``flex-direction: column-reverse`` keeps a scrolled box pinned to its
    bottom, so a long answer stays readable while it grows; the inner
    ``margin-bottom: auto`` keeps a short answer at the top.
    """
    if text:
        inner = html.escape(text)
    else:
        inner = f'<span style="color:{MUTED};font-style:italic;">{html.escape(placeholder)}</span>'
    if cursor:
        inner += '<span class="sse-lab-cursor">&#9613;</span>'
    return (
        f'<div style="display:flex;flex-direction:column-reverse;overflow-y:auto;'
        f"min-height:7em;max-height:18em;box-sizing:border-box;padding:10px 12px;"
        f"border:1px solid {BORDER};border-radius:6px;background:{BG};color:{FG};"
        f'font-family:{SANS};font-size:14px;line-height:1.55;">'
        f'<div style="white-space:pre-wrap;overflow-wrap:anywhere;margin-bottom:auto;">'
        f"{inner}</div></div>"
    )


def ms_html(seconds: float | None) -> str:
    if seconds is None:
        return "&hellip;"
    return f"{seconds * 1000:.0f}&nbsp;ms"


def first_token_time(rec: Recording | None) -> float | None:
    if rec is None:
        return None
    times = rec.token_times
    return times[0] if times else None
