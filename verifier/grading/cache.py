"""Content-addressed result cache: a pair is checked once per options and tool version, ever.

The key is a SHA-256 of the *normalised* pair, the effective options and the tool version (a64eq's and
the assembler's, since both change what assembles and what is proved). A snippet is normalised to
what the assembler sees: its statements after clean-up, with their line and column. Comments, prose
around the code and harmless directives therefore do not matter, and yet every field of a cached
result is exactly what `check` would return for the new text, except `dropped` (the clean-up notes),
which `with_own_notes` fills in from the text itself. A snippet that clean-up rejects is keyed by its
raw text.

The store is one SQLite file (embedded, safe for concurrent graders), by default
`$XDG_CACHE_HOME/a64eq/results.sqlite` (`~/.cache/a64eq/...`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..assemble import assembler_version
from ..errors import SnippetError
from ..result import Result
from ..text import clean


def default_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "a64eq" / "results.sqlite"


@dataclass(frozen=True)
class Normalised:
    """One snippet as the checker will read it: a key part, and the clean-up notes of this spelling
    (none when clean-up rejects the text, as in `check`)."""

    key: tuple
    dropped: tuple[str, ...]


@functools.lru_cache(maxsize=65536)  # a source is met once per model, a reference once per model too
def normalise(text: str) -> Normalised:
    try:
        snippet = clean(text)
    except SnippetError:
        return Normalised(("raw", text), ())
    return Normalised(("statements", tuple((s.line, s.column, s.text) for s in snippet.statements)),
                      tuple(snippet.dropped))


def pair_key(source: Normalised, candidate: Normalised, options: dict) -> str:
    """The cache key of a check: normalised pair + effective options + tool version."""
    material = json.dumps([source.key, candidate.key, options, __version__, assembler_version()],
                          sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def with_own_notes(result: Result, source: Normalised, candidate: Normalised) -> Result:
    """`result` as `check` returns it for this spelling of the pair: with its own clean-up notes."""
    result = result.model_copy(deep=True)
    result.source.dropped = list(source.dropped)
    result.candidate.dropped = list(candidate.dropped)
    return result


class ResultCache:
    """key -> Result, in an SQLite file."""

    def __init__(self, path: str | Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, result TEXT NOT NULL)")

    def get(self, key: str) -> Result | None:
        row = self._db.execute("SELECT result FROM results WHERE key = ?", (key,)).fetchone()
        return Result.model_validate_json(row[0]) if row else None

    def put(self, key: str, result: Result) -> None:
        self._db.execute("INSERT OR REPLACE INTO results VALUES (?, ?)", (key, result.model_dump_json()))

    def close(self) -> None:
        self._db.close()
