"""a64eq: is this AArch64 rewrite equivalent to the original? A proof, or a replayed counterexample."""

__version__ = "0.1.0"

from .result import Options, Result, Verdict  # noqa: E402


def check(source: str, candidate: str, **options) -> Result:
    """Check `candidate` against `source`; options as in `verifier.result.Options`."""
    from .pipeline import check as _check

    return _check(source, candidate, **options)


__all__ = ["check", "Options", "Result", "Verdict", "__version__"]
