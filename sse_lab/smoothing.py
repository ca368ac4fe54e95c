r"""Smoothing: turn bursty token arrival into an even reveal.

Some model servers (vLLM and other batching servers, or a proxy that
buffers) deliver tokens in bursts: nothing for a few hundred milliseconds,
then five tokens at once. Shown as they arrive, the text jumps. The Vercel AI
SDK's ``smoothStream`` fixes that on the client side: it holds tokens in a
small buffer and releases them at a steady pace. This module does the same,
with a pace that adapts to the stream:

* the **pace** is the stream's own recent arrival rate (seconds per token,
  or per character with ``per="char"``), measured over the last ``window``
  arrivals, so a fast model is revealed fast and a slow one slowly;
* a token is **never shown before it arrived**;
* the **extra delay is bounded**: no token waits more than ``max_lag``
  seconds after its arrival, and when the backlog could not be shown at the
  steady pace before the newest token's bound, the pace speeds up just
  enough to catch up;
* the first token is shown the moment it arrives (smoothing never costs
  time to first token).

Every decision uses only what was known at the time it is made (the tokens
that had arrived by then), so the pure function :func:`smooth_schedule` and
the live :class:`SmoothReveal` give the same schedule for the same arrivals.

* :func:`smooth_schedule` -- arrival times in, display times out (pure).
* :class:`Smoother` -- the same decisions, one token at a time.
* :class:`SmoothReveal` -- the live version: push tokens as they arrive,
  it calls you back when each one should appear.

What is released at each step (the *release unit*) matters as much as when.
``smoothStream`` re-chunks by word (``/\S+\s+/``: a word and the spaces after
it). Chinese and Japanese put no spaces between words, so a word rule holds a
whole Chinese sentence back until a space or the end of the stream, and then
shows it at once. :func:`release_units` splits by grapheme (what a reader
sees as one character: ``你``, ``é`` written as ``e`` + a combining accent,
``👍🏽``, ``🇨🇳``, ``👩‍💻``) for CJK text and keeps words whole for scripts that
use spaces, so ``你好，我是 GPT-4o 助手`` becomes ``你 好 ， 我 是 GPT-4o 助 手``.
:func:`split_arrivals` does it on a live stream (a unit is released once it
is complete), and :func:`char_times` spreads unit times over the characters
they hold, to measure what the reader sees.

* :func:`graphemes` -- text split into user-perceived characters (stdlib only).
* :func:`release_units` -- text split into release units: ``"auto"`` (CJK by
  character, other scripts by word), ``"word"`` or ``"char"``.
* :func:`split_arrivals` -- arriving tokens re-chunked into release units.
"""

from __future__ import annotations

import asyncio
import math
import time
import unicodedata
from collections.abc import Callable, Sequence
from typing import Literal

__all__ = [
    "DEFAULT_MAX_LAG",
    "DEFAULT_WINDOW",
    "By",
    "SmoothReveal",
    "Smoother",
    "UnitSplitter",
    "char_times",
    "gap_spread",
    "graphemes",
    "is_cjk",
    "release_units",
    "smooth_schedule",
    "split_arrivals",
]

#: Default bound on the extra delay a token may get (seconds).
DEFAULT_MAX_LAG = 0.5
#: Default number of recent arrivals the pace is measured over.
DEFAULT_WINDOW = 12
#: Arrivals closer than this (seconds) count as one instant (one burst): over
#: a real socket a burst's tokens arrive a fraction of a millisecond apart.
SAME_INSTANT = 0.003

Per = Literal["token", "char"]
#: How text is cut into release units: see :func:`release_units`.
By = Literal["auto", "word", "char"]


def _weight(token: str | None, per: Per) -> float:
    if per == "token" or token is None:
        return 1.0
    return float(max(1, len(token)))


class Smoother:
    """The smoothing decisions, one token at a time.

    Feed arrivals with :meth:`arrive` (non-decreasing times), then ask
    :meth:`next_time` when the next token not yet shown should appear and
    confirm with :meth:`shown`. :func:`smooth_schedule` is this loop run on a
    whole list; :class:`SmoothReveal` runs it against the clock.

    Args:
        interval: A fixed pace (seconds per token, or per character with
            ``per="char"``), like ``smoothStream``'s ``delayInMs``. ``None``
            (the default) measures the pace from the stream itself.
        max_lag: Most extra delay any token may get, in seconds; ``None``
            for no bound (a fixed pace may then fall behind without limit).
        per: ``"token"`` paces whole tokens; ``"char"`` gives a long token
            proportionally more time than a short one.
        window: How many recent arrivals the measured pace is based on.
        catch_up: Speed up when the backlog could not be shown at the steady
            pace before the newest token's lag bound (only with a ``max_lag``).
    """

    def __init__(
        self,
        *,
        interval: float | None = None,
        max_lag: float | None = DEFAULT_MAX_LAG,
        per: Per = "token",
        window: int = DEFAULT_WINDOW,
        catch_up: bool = True,
    ) -> None:
        if interval is not None and not (interval >= 0 and math.isfinite(interval)):
            raise ValueError("interval must be a finite number >= 0 (or None)")
        if max_lag is not None and not (max_lag >= 0 and math.isfinite(max_lag)):
            raise ValueError("max_lag must be a finite number >= 0 (or None)")
        if per not in ("token", "char"):
            raise ValueError("per must be 'token' or 'char'")
        if window < 2:
            raise ValueError("window must be at least 2")
        self.interval = interval
        self.max_lag = max_lag
        self.per: Per = per
        self.window = int(window)
        self.catch_up = catch_up
        self.arrivals: list[float] = []
        self.tokens: list[str | None] = []
        self.weights: list[float] = []
        self.display: list[float] = []

    # -- input -------------------------------------------------------------------
    def arrive(self, t: float, token: str | None = None) -> None:
        """Record that a token arrived at time ``t`` (never earlier than the last)."""
        if not math.isfinite(t):
            raise ValueError("arrival times must be finite")
        if self.arrivals and t < self.arrivals[-1]:
            raise ValueError("arrival times must not go backwards")
        self.arrivals.append(float(t))
        self.tokens.append(token)
        self.weights.append(_weight(token, self.per))

    @property
    def pending(self) -> int:
        """Tokens that arrived but have not been shown yet."""
        return len(self.arrivals) - len(self.display)

    # -- decisions ---------------------------------------------------------------
    def pace(self, now: float) -> float | None:
        """Seconds per weight unit, measured from the arrivals known at ``now``.

        Over the last ``window`` known arrivals (reaching further back if
        they all share one instant): the time from the first of them to the
        last, divided by the weight that arrived *after* the first instant (a
        burst's tokens pay for the silence before it; arrivals less than
        :data:`SAME_INSTANT` apart count as one instant). ``None`` while
        fewer than two distinct arrival instants are known.
        """
        if self.interval is not None:
            return self.interval
        known = self._known(now)
        if known < 2:
            return None
        lo = max(0, known - self.window)
        t_last = self.arrivals[known - 1]
        if self.arrivals[lo] >= t_last - SAME_INSTANT:
            # One big burst fills the window: measure from the instant before it.
            lo = self._known_before(t_last - SAME_INSTANT) - 1
            if lo < 0:
                return None
        t_first = self.arrivals[lo]
        after = sum(w for t, w in zip(self.arrivals[lo:known], self.weights[lo:known], strict=True)
                    if t > t_first + SAME_INSTANT)
        return (t_last - t_first) / after if after > 0 else None

    def next_time(self) -> float | None:
        """When the next token not shown yet should appear; ``None`` if none is waiting."""
        i = len(self.display)
        if i >= len(self.arrivals):
            return None
        arrival = self.arrivals[i]
        if i == 0:
            return arrival  # the first token is never held back
        prev = self.display[-1]
        now = max(prev, arrival)  # the moment this decision can be made
        known = self._known(now)
        backlog = sum(self.weights[i:known])
        pace = self.pace(now)
        if pace is None:
            # No rate known yet (everything so far arrived at once): spread
            # what is waiting evenly over half the lag budget.
            end = self.arrivals[known - 1] + (self.max_lag or 0.0) / 2
            gap = max(0.0, end - prev) / max(backlog, 1.0) * self.weights[i]
        else:
            gap = pace * self.weights[i]
            if self.catch_up and self.max_lag is not None:
                # Could the backlog still be shown at this pace before the
                # newest token's lag bound? If not, speed up just enough.
                drain = pace * backlog
                budget = self.arrivals[known - 1] + self.max_lag - prev
                if drain > budget > 0:
                    gap *= budget / drain
        t = max(prev + gap, arrival, prev)
        if self.max_lag is not None:
            t = min(t, arrival + self.max_lag)
        return max(t, prev)

    def shown(self, t: float | None = None) -> float:
        """Record that the next token was shown (at ``t``, default :meth:`next_time`)."""
        if t is None:
            t = self.next_time()
            if t is None:
                raise ValueError("no token is waiting to be shown")
        self.display.append(float(t))
        return float(t)

    def _known_before(self, t: float) -> int:
        """How many arrivals happened strictly before ``t``."""
        lo, hi = 0, len(self.arrivals)
        while lo < hi:  # bisect_left
            mid = (lo + hi) // 2
            if self.arrivals[mid] < t:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _known(self, now: float) -> int:
        """How many arrivals happened at or before ``now`` (arrivals are sorted)."""
        lo, hi = 0, len(self.arrivals)
        while lo < hi:  # bisect_right on the arrival times
            mid = (lo + hi) // 2
            if self.arrivals[mid] <= now:
                lo = mid + 1
            else:
                hi = mid
        return lo


def smooth_schedule(
    arrival_times: Sequence[float],
    tokens: Sequence[str] | None = None,
    *,
    interval: float | None = None,
    max_lag: float | None = DEFAULT_MAX_LAG,
    per: Per = "token",
    window: int = DEFAULT_WINDOW,
    catch_up: bool = True,
) -> list[float]:
    """When to show each token so that bursty arrival reads as an even flow.

    Args:
        arrival_times: When each token arrived (seconds, non-decreasing).
        tokens: The tokens themselves (needed for ``per="char"``).
        interval, max_lag, per, window, catch_up: See :class:`Smoother`.

    Returns:
        One display time per token, same clock as ``arrival_times``; never
        earlier than the token's arrival, never later than arrival +
        ``max_lag``, never decreasing. The first equals the first arrival.

    Raises:
        ValueError: lengths differ, times go backwards or are not finite,
            or an option is out of range.

    With ``interval`` set, ``catch_up=False`` and a ``max_lag``, the rule is
    simply ``d[0] = a[0]``, ``d[i] = min(max(a[i], d[i-1] + interval), a[i] + max_lag)``.
    """
    times = list(arrival_times)
    if tokens is not None and len(tokens) != len(times):
        raise ValueError(f"{len(times)} arrival times but {len(tokens)} tokens")
    sm = Smoother(interval=interval, max_lag=max_lag, per=per, window=window, catch_up=catch_up)
    for k, t in enumerate(times):
        sm.arrive(t, None if tokens is None else tokens[k])
    while sm.pending:
        sm.shown()
    return sm.display


def gap_spread(times: Sequence[float], *, skip_first: bool = True) -> float:
    """Standard deviation of the gaps between consecutive times (seconds).

    ``skip_first`` leaves out the gap before the second token, which holds
    the wait for the first burst rather than the rhythm of the stream.
    """
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    if skip_first:
        gaps = gaps[1:]
    if len(gaps) < 2:
        return 0.0
    mean = sum(gaps) / len(gaps)
    return math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps))


class SmoothReveal:
    """The live smoother: push tokens as they arrive, get them back evenly paced.

    ``reveal(token)`` is called (on the running event loop) when each token
    should appear. Run :meth:`run` as a task; :meth:`push` each arriving
    token (from the same loop); :meth:`close` when the stream has ended:
    :meth:`run` returns once everything pushed has been revealed.
    :meth:`flush` reveals everything still waiting at once (a stop button).

    Times are seconds on ``time.perf_counter()`` since this object was made:
    :attr:`arrival_times` (when :meth:`push` was called) and
    :attr:`display_times` (when ``reveal`` actually ran).

    Args:
        reveal: Called with each token (or release unit), in order.
        by: ``None`` (default) reveals tokens as they came; ``"auto"``,
            ``"word"`` or ``"char"`` re-chunks them into release units first
            (:class:`UnitSplitter`), so a Chinese token of several characters
            appears one character at a time. :attr:`tokens`,
            :attr:`arrival_times` and :attr:`display_times` are then per unit.
        **options: See :class:`Smoother` (``max_lag``, ``interval``...).
    """

    def __init__(
        self, reveal: Callable[[str], object], *, by: By | None = None, **options: object
    ) -> None:
        self.reveal = reveal
        self.splitter = UnitSplitter(by) if by is not None else None
        self.smoother = Smoother(**options)  # type: ignore[arg-type]
        self.t0 = time.perf_counter()
        self.display_times: list[float] = []
        self._wake = asyncio.Event()
        self._closed = False

    @property
    def arrival_times(self) -> list[float]:
        return list(self.smoother.arrivals)

    @property
    def tokens(self) -> list[str]:
        """What was pushed, as it is revealed: tokens, or units with ``by``."""
        return [t or "" for t in self.smoother.tokens]

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def push(self, token: str) -> None:
        """A token arrived now."""
        self._arrive(self.splitter.feed(token) if self.splitter is not None else [token])

    def _arrive(self, pieces: list[str]) -> None:
        t = self.now()
        arrivals = self.smoother.arrivals
        if arrivals and t < arrivals[-1]:
            t = arrivals[-1]
        for piece in pieces:
            self.smoother.arrive(t, piece)
        if pieces:
            self._wake.set()

    def close(self) -> None:
        """No more tokens will come; :meth:`run` ends after revealing the rest."""
        if self.splitter is not None:
            self._arrive(self.splitter.close())
        self._closed = True
        self._wake.set()

    def flush(self) -> None:
        """Reveal everything that is waiting, now (then :meth:`run` goes on)."""
        while self.smoother.pending:
            self._show(self.now())

    def _show(self, t: float) -> None:
        sm = self.smoother
        token = sm.tokens[len(sm.display)] or ""
        sm.shown(max(t, sm.display[-1] if sm.display else t))
        self.display_times.append(self.now())
        self.reveal(token)

    async def run(self) -> None:
        sm = self.smoother
        while True:
            due = sm.next_time()
            if due is None:
                if self._closed:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            wait = due - self.now()
            if wait > 0:
                shown = len(sm.display)
                await asyncio.sleep(wait)
                if len(sm.display) != shown:  # flush() revealed it meanwhile
                    continue
            # Record the planned time in the smoother (so the next decision is
            # the same as the pure schedule's), the actual one in display_times.
            sm.shown(due)
            self.display_times.append(self.now())
            self.reveal(sm.tokens[len(sm.display) - 1] or "")


# -- release units: graphemes and words -------------------------------------------
# A stdlib approximation of Unicode's extended grapheme clusters (UAX #29): the
# rules that matter for chat text. ``regex``'s ``\X`` is the reference the tests
# compare against; the package does not depend on it.
_ZWJ = "\u200d"


def _is_extend(ch: str) -> bool:
    """Joins the character before it: combining marks, ZWJ, variation selectors, skin tones."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or ch == _ZWJ
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors (text/emoji presentation)
        or 0xE0100 <= cp <= 0xE01EF  # ideographic variation selectors
        or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # tag characters (subdivision flags)
        or cp in (0xFF9E, 0xFF9F)  # halfwidth katakana voiced sound marks
    )


def _is_pictographic(ch: str) -> bool:
    """Roughly Unicode's Extended_Pictographic: what a ZWJ may join to (👩‍💻)."""
    cp = ord(ch)
    if _is_regional(ch) or 0x1F3FB <= cp <= 0x1F3FF:
        return False  # flags' letters and skin tones are not pictographs themselves
    return (
        0x1F000 <= cp <= 0x1FAFF
        or 0x2600 <= cp <= 0x27BF
        or 0x2B00 <= cp <= 0x2BFF
        or cp in (0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0x3030, 0x303D)
        or 0x2190 <= cp <= 0x21FF
        or 0x2300 <= cp <= 0x23FF
    )


def _is_regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _is_control(ch: str) -> bool:
    return ch in "\r\n" or unicodedata.category(ch) in ("Cc", "Zl", "Zp")


def _hangul(ch: str) -> str:
    """Hangul syllable type: L, V, T, LV, LVT or "" (jamo combine into one syllable)."""
    cp = ord(ch)
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97C:
        return "L"
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return "V"
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return "T"
    if 0xAC00 <= cp <= 0xD7A3:
        return "LV" if (cp - 0xAC00) % 28 == 0 else "LVT"
    return ""


def _joins(prev: str, ch: str, cluster: str, regional_run: int) -> bool:
    """Whether ``ch`` continues the cluster that ends with ``prev``."""
    if prev == "\r" and ch == "\n":
        return True
    if _is_control(prev) or _is_control(ch):
        return False
    if _is_extend(ch):
        return True
    if prev == _ZWJ and _is_pictographic(ch):
        # Joined emoji (👩‍💻): a pictograph, then only combining marks, then the ZWJ.
        i = len(cluster) - 2
        while i >= 0 and cluster[i] != _ZWJ and _is_extend(cluster[i]) and (
            unicodedata.category(cluster[i]) != "Mc"
        ):
            i -= 1
        return i >= 0 and _is_pictographic(cluster[i])
    if _is_regional(prev) and _is_regional(ch):
        return regional_run % 2 == 1  # flags are pairs: 🇨🇳🇺🇸 is two clusters
    a, b = _hangul(prev), _hangul(ch)
    if a == "L" and b in ("L", "V", "LV", "LVT"):
        return True
    if a in ("LV", "V") and b in ("V", "T"):
        return True
    return a in ("LVT", "T") and b == "T"


def graphemes(text: str) -> list[str]:
    r"""``text`` split into user-perceived characters (extended grapheme clusters).

    A Chinese character, a letter with its combining accents, an emoji with its
    skin tone or ZWJ sequence (👩‍💻), a flag (two regional indicators), a Hangul
    syllable from jamo, and ``\r\n`` each stay one piece. Joining the pieces
    gives ``text`` back. Python strings hold code points, so a surrogate pair
    never appears (UTF-16 splits are the browser's problem: see
    ``Intl.Segmenter``).
    """
    out: list[str] = []
    cluster = ""
    regional_run = 0
    for ch in text:
        if cluster and _joins(cluster[-1], ch, cluster, regional_run):
            cluster += ch
        else:
            if cluster:
                out.append(cluster)
            cluster = ch
            regional_run = 0
        regional_run = regional_run + 1 if _is_regional(ch) else 0
    if cluster:
        out.append(cluster)
    return out


#: Scripts written without spaces between words (released one character at a time).
_CJK_RANGES = (
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation (。、「」)
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x31A0, 0x31FF),  # Bopomofo extended, CJK strokes, Katakana extensions
    (0x3200, 0x33FF),  # enclosed CJK, compatibility
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFFEF),  # fullwidth forms: ，！？（）
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)


def is_cjk(cluster: str) -> bool:
    """Whether a character (grapheme) belongs to a script written without spaces.

    Chinese, Japanese kana and fullwidth punctuation (，。！？) count; Korean Hangul
    does not: Korean separates words with spaces, so words work for it.
    """
    if not cluster:
        return False
    cp = ord(cluster[0])
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def _is_emoji(cluster: str) -> bool:
    cp = ord(cluster[0])
    return cp >= 0x1F000 and cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF


def release_units(text: str, by: By = "auto") -> list[str]:
    r"""``text`` split into the pieces a typewriter or smoother releases one at a time.

    Args:
        text: Any text.
        by: ``"word"``: a word and the whitespace after it (``smoothStream``'s
            ``/\S+\s+/``; whitespace before the first word goes with it);
            ``"char"``: every grapheme on its own;
            ``"auto"`` (default): graphemes of CJK text (:func:`is_cjk`) and
            emoji, words elsewhere, so ``"你好 GPT-4o!"`` gives
            ``["你", "好", " GPT-4o!"]``. Whitespace follows a word but
            leads the unit after a single character.

    Returns:
        The units, in order; ``"".join(units) == text``, never an empty unit.
    """
    if by not in ("auto", "word", "char"):
        raise ValueError("by must be 'auto', 'word' or 'char'")
    units: list[str] = []
    cur = ""
    has_text = False  # cur holds a non-space character
    closed = False  # cur is a whole CJK character: only whitespace may follow
    spaced = False  # cur ends with whitespace after its text
    for g in graphemes(text):
        if g.isspace():
            if closed:
                # A CJK character takes no whitespace: it leads the next unit, so
                # the character can be released the moment it arrives.
                units.append(cur)
                cur, has_text, closed = "", False, False
            cur += g
            spaced = has_text
            continue
        single = by == "char" or (by == "auto" and (is_cjk(g) or _is_emoji(g)))
        if has_text and (closed or single or spaced):
            units.append(cur)
            cur = ""
        cur += g
        has_text, closed, spaced = True, single, False
    if cur:
        units.append(cur)
    return units


class UnitSplitter:
    """:func:`release_units` on a stream: feed tokens, get back the finished units.

    The last unit of what has arrived may still grow (a word goes on, an accent
    follows its letter), so it is held until the next unit starts or
    :meth:`close` is called; the units released over a stream are then exactly
    ``release_units`` of the whole text, however it was cut into tokens. One
    exception keeps Chinese live: a trailing CJK character is released at
    once, without waiting for the next token (only a combining mark or a
    variation selector could still join it, and that then comes as a unit of
    its own; the text joined is the same).
    """

    def __init__(self, by: By = "auto") -> None:
        release_units("", by)  # validates ``by``
        self.by: By = by
        self._pending = ""

    def feed(self, token: str) -> list[str]:
        """Add ``token``; return the units it completed (maybe none)."""
        self._pending += token
        units = release_units(self._pending, self.by)
        if not units:
            return []
        last = units[-1]
        if self.by != "word" and len(graphemes(last.lstrip())) == 1 and is_cjk(last.lstrip()):
            self._pending = ""
            return units
        self._pending = last
        return units[:-1]

    def close(self) -> list[str]:
        """The stream ended: release what is held."""
        rest, self._pending = self._pending, ""
        return [rest] if rest else []


def split_arrivals(
    arrival_times: Sequence[float], tokens: Sequence[str], by: By = "auto"
) -> tuple[list[float], list[str]]:
    """Arriving tokens re-chunked into release units, each timed when it was complete.

    A unit is known to be complete when the token after it arrives (or the
    stream ends, at the last arrival time). Feed the result to
    :func:`smooth_schedule` to pace units instead of tokens.

    Returns:
        ``(unit_times, units)``; ``"".join(units) == "".join(tokens)``.
    """
    if len(arrival_times) != len(tokens):
        raise ValueError(f"{len(arrival_times)} arrival times but {len(tokens)} tokens")
    splitter = UnitSplitter(by)
    times: list[float] = []
    units: list[str] = []
    for t, token in zip(arrival_times, tokens, strict=True):
        done = splitter.feed(token)
        units += done
        times += [t] * len(done)
    rest = splitter.close()
    units += rest
    times += [arrival_times[-1]] * len(rest) if arrival_times else []
    return times, units


def char_times(times: Sequence[float], units: Sequence[str]) -> list[float]:
    """One time per visible character (grapheme, whitespace left out): when it appeared.

    Every character of a unit appears when its unit does; this is what a
    reader sees, so gaps and bursts are measured on it.
    """
    out: list[float] = []
    for t, unit in zip(times, units, strict=True):
        out += [t] * sum(1 for g in graphemes(unit) if not g.isspace())
    return out
