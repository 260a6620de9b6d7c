"""A one-line progress bar on standard error: done/total, rate, ETA.

Written by hand rather than with a library: it is a dozen lines and keeps the grading extra small. On a
terminal the line redraws in place at most ten times a second; otherwise (a log file) one line is
printed every `interval` seconds, so the log stays readable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class Progress:
    def __init__(self, total: int, *, stream: TextIO = sys.stderr, enabled: bool = True, interval: float | None = None):
        self.total = total
        self.done = 0
        self._stream = stream
        self._enabled = enabled and total > 0
        self._live = stream.isatty()
        self._interval = interval if interval is not None else (0.1 if self._live else 10.0)
        self._started = time.monotonic()
        self._shown_at = 0.0

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if self._enabled and (now - self._shown_at >= self._interval or self.done == self.total):
            self._shown_at = now
            self._show(now)

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self._started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = _duration((self.total - self.done) / rate) if rate > 0 else "?"
        filled = int(30 * self.done / self.total) if self.total else 30
        return (f"[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} "
                f"{100 * self.done / max(self.total, 1):5.1f}%  {rate:.1f} pairs/s  ETA {eta}")

    def _show(self, now: float) -> None:
        if self._live:
            self._stream.write("\r" + self.line(now) + "\x1b[K")
        else:
            self._stream.write(self.line(now) + "\n")
        self._stream.flush()

    def finish(self) -> None:
        """End the redrawn line so that later messages start on their own line."""
        if self._enabled and self._live:
            self._stream.write("\n")
            self._stream.flush()
