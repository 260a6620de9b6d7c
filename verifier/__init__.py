"""a64eq: is this AArch64 rewrite equivalent to the original? A proof, or a replayed counterexample."""

import hashlib
import importlib.metadata
from pathlib import Path


def _build_id() -> str:
    """A fingerprint of everything that decides a verdict: the verifier's own code (not grading) and
    the versions of the lifter, solver and emulator. Part of `__version__`, hence of every cache key
    and every resumable output, so a result computed by other semantics is never reused."""
    digest = hashlib.sha256()
    root = Path(__file__).parent
    for path in sorted(root.rglob("*.py")):
        if "grading" not in path.relative_to(root).parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    for distribution in ("pyvex", "z3-solver", "unicorn"):
        digest.update(importlib.metadata.version(distribution).encode())
    return digest.hexdigest()[:10]


__version__ = f"{importlib.metadata.version('a64eq')}+{_build_id()}"

from .result import Options, Result, Verdict  # noqa: E402


def check(source: str, candidate: str, **options) -> Result:
    """Check `candidate` against `source`; options as in `verifier.result.Options`."""
    from .pipeline import check as _check

    return _check(source, candidate, **options)


__all__ = ["check", "Options", "Result", "Verdict", "__version__"]
