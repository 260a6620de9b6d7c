"""`a64eq grade`: records in, one result line per record out, sharing every piece of work it can.

A record needs one check (candidate against source) or two (and reference against source). Each check
is named by its cache key (`cache.pair_key`), so

* a check already in the on-disk cache is not run again (across runs);
* identical checks within a run (the same reference for several models, two models giving the same
  answer) run once;
* records already in the output file (same options and version) are skipped: a killed or interrupted
  run continues where it stopped, and no id is written twice.

Checks go to the backend through a bounded window (`backend.slots` in flight), in input order, so memory
stays flat on large runs and Ctrl-C has little to cancel. A record's line is written as soon as all its
checks are known.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..result import Result, Verdict
from .cache import Normalised, ResultCache, normalise, pair_key, with_own_notes
from .output import ResultWriter, output_line, resume
from .progress import Progress
from .records import Record, effective_options


@dataclass
class Stats:
    """What a run did; printed at the end so that work saved is visible (the cache test reads it)."""

    records: int = 0  # in the input
    skipped: int = 0  # already in the output file
    written: int = 0  # lines written by this run
    checks_run: int = 0  # checks sent to the workers: the solver work done
    cache_hits: int = 0  # checks answered by the on-disk cache
    shared: int = 0  # checks answered by an identical check of this run

    def summary(self) -> str:
        return (f"graded {self.written} record(s) ({self.skipped} already in the output, {self.records} in the input): "
                f"{self.checks_run} check(s) run, {self.cache_hits} from the cache, "
                f"{self.shared} shared with an identical pair")


@dataclass
class _Check:
    source: str
    candidate: str
    options: dict


@dataclass
class _Pending:
    """A record waiting for its checks: the candidate's key, and the reference's key if any."""

    record: Record
    options: dict  # effective options
    source: Normalised
    candidate: Normalised
    reference: Normalised | None
    candidate_key: str
    reference_key: str | None

    @property
    def keys(self) -> list[str]:
        """Distinct keys (a candidate identical to its reference needs one check)."""
        return list(dict.fromkeys(filter(None, (self.candidate_key, self.reference_key))))


def grade(records: list[Record], output: Path, *, base_options: dict, make_backend: Callable,
          cache: ResultCache | None, retry_unknown: bool = False, show_progress: bool = False) -> Stats:
    """Grade `records` into `output` (appending). Interrupting it (KeyboardInterrupt) loses no written line.

    Every result is cached, `unknown` too, so that grading the same pairs again gives the same answers;
    `retry_unknown` checks cached `unknown`s again (after a run on a busy machine, say). `make_backend()` is
    called only if some check is not answered by the cache (starting workers takes seconds); the backend
    is closed before returning.
    """
    options_by_id = {record.id: effective_options(record, base_options) for record in records}
    done = resume(output, options_by_id, __version__)
    stats = Stats(records=len(records), skipped=sum(record.id in done for record in records))
    pending = [_pending(record, options_by_id[record.id]) for record in records if record.id not in done]
    checks = _distinct_checks(pending, stats)

    results: dict[str, Result] = {}
    if cache is not None:
        for key in checks:
            cached = cache.get(key)
            if cached is not None and not (retry_unknown and cached.verdict == Verdict.unknown):
                results[key] = cached
                stats.cache_hits += 1
    progress = Progress(len(pending), enabled=show_progress)
    waiting_by_key: dict[str, list[_Pending]] = {}
    writer = ResultWriter(output)
    backend = None
    try:
        for item in pending:
            unresolved = [key for key in item.keys if key not in results]
            if not unresolved:
                _write(writer, item, results, stats, progress)
            for key in unresolved:
                waiting_by_key.setdefault(key, []).append(item)
        if waiting_by_key:
            backend = make_backend()
            _run(checks, results, waiting_by_key, backend, cache, writer, stats, progress)
    finally:
        if backend is not None:
            backend.close()
        progress.finish()
        writer.close()
    return stats


def _pending(record: Record, options: dict) -> _Pending:
    source, candidate = normalise(record.source), normalise(record.candidate)
    reference = normalise(record.reference) if record.reference is not None else None
    return _Pending(record, options, source, candidate, reference, pair_key(source, candidate, options),
                    pair_key(source, reference, options) if reference else None)


def _distinct_checks(pending: list[_Pending], stats: Stats) -> dict[str, _Check]:
    """Every check the records need, once per key, in first-use order; repeats are counted as shared."""
    checks: dict[str, _Check] = {}
    for item in pending:
        record = item.record
        for key, text in ((item.candidate_key, record.candidate), (item.reference_key, record.reference)):
            if key is None:
                continue
            if key in checks:
                stats.shared += 1
            else:
                checks[key] = _Check(record.source, text, item.options)
    return checks


def _run(checks: dict[str, _Check], results: dict[str, Result], waiting_by_key: dict[str, list[_Pending]],
         backend, cache: ResultCache | None, writer: ResultWriter, stats: Stats, progress: Progress) -> None:
    """Send the checks nobody has answered yet, `backend.slots` at a time; write records as they complete."""
    queue = iter([key for key in checks if key not in results])
    in_flight: dict[Future, str] = {}
    while True:
        while len(in_flight) < backend.slots:
            key = next(queue, None)
            if key is None:
                break
            check = checks[key]
            in_flight[backend.submit(check.source, check.candidate, check.options)] = key
        if not in_flight:
            return
        finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        for future in finished:
            key = in_flight.pop(future)
            result = future.result()
            results[key] = result
            stats.checks_run += 1
            if cache is not None:
                cache.put(key, result)
            for item in waiting_by_key.pop(key):
                if all(k in results for k in item.keys):
                    _write(writer, item, results, stats, progress)


def _write(writer: ResultWriter, item: _Pending, results: dict[str, Result], stats: Stats,
           progress: Progress) -> None:
    result = with_own_notes(results[item.candidate_key], item.source, item.candidate)
    reference_result = (with_own_notes(results[item.reference_key], item.source, item.reference)
                        if item.reference_key else None)
    writer.write(output_line(item.record, result, reference_result))
    stats.written += 1
    progress.advance()
