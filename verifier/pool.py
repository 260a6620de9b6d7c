"""Checks in a pool of worker processes, with hard limits enforced from outside.

Why processes and not threads: pyvex lifts under a global lock, and Z3 does not always honour its own
timeout (bit-blasting a chain of multiplications can overrun it by a minute and gigabytes). So each check
runs in a warm worker process (the verifier imported once), and the pool watches it from the parent:

- wall clock: a check still running after `options.timeout + options.fp_timeout + grace_seconds` (capped
  by `max_seconds`) has its worker SIGKILLed and replaced; the check resolves to verdict `unknown` naming
  the limit. Both budgets count, because floating-point queries are not charged to `timeout`
  (`verifier.equivalence.Budget`): a check may legitimately run for their sum;
- memory: the parent samples the worker's resident set; above `memory_limit_mb` it is killed the same way;
- crashes: a worker that dies (segfault, OOM killer, someone's `kill -9`) is replaced, and its check
  resolves to `unknown` naming the signal.

A check's future therefore always resolves to a `Result`, never to an exception. Only closing the pool
ends unfinished checks without a verdict: their futures are cancelled.

Why memory is watched from outside rather than with RLIMIT_AS in the worker: `check()` replays
counterexamples in a further process (verifier/replay.py), which would inherit the limit, and unicorn
reserves about 2 GiB of address space per emulator instance (9 GiB seen in one replay process). With a
4 GiB RLIMIT_AS the replay failed ("Could not allocate dynamic translator buffer"). Resident memory is
what a limit should protect anyway; a worker itself needs about 100-150 MB resident.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import multiprocessing
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

from .result import Options, Result, SnippetReport, Verdict

_STARTUP_TIMEOUT = 120.0  # importing z3, pyvex and unicorn in a fresh interpreter, then one warm-up check
_WATCH_INTERVAL = 0.05  # how often a running check's worker is looked at (seconds)
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_ATTEMPTS = 3  # workers a check is offered to when each dies before taking it
_NOT_STARTED = object()  # _run's answer when the worker died before acknowledging the check

# A not-equivalent pair: the warm-up also starts the worker's own replay process.
_WARM_UP = ("add w0, w1, w2", "add x0, x1, x2")


def _worker_main(connection: Connection) -> None:
    """Worker process: import the verifier once, warm it up, then answer (source, candidate, options) with a Result."""
    os.setpgrp()  # a group of its own, with the replay process check() starts: killing the worker kills both
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business; it closes the pool
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="a64eq-orphan-watch", daemon=True).start()
    from .pipeline import check

    check(*_WARM_UP)
    connection.send("ready")
    while True:
        try:
            source, candidate, options = connection.recv()
        except EOFError:  # the parent is gone
            return
        connection.send("started")  # from here on, this worker's death is this check's doing
        try:
            result = check(source, candidate, **options)
        except Exception as exc:  # noqa: BLE001 - a bug in a pipeline stage must not cost the worker
            result = unknown_result(options, f"internal error in the checker: {type(exc).__name__}: {exc}")
        connection.send(result)


def _exit_with_parent(parent: int) -> None:
    """If the pool's process dies (even SIGKILLed, even mid-check), end this worker's group at once: an
    orphaned worker would otherwise finish a check nobody waits for, and Z3 may take minutes over it."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os.killpg(0, signal.SIGKILL)


def validate_options(options: dict | None) -> Options:
    """The options as `check` will see them; ValueError for anything it would reject, and for unknown names."""
    from .equivalence import observables_for

    unknown = set(options or {}) - set(Options.model_fields)
    if unknown:  # Options would ignore them, and a misspelt live_out would silently compare everything
        raise ValueError(f"unknown option(s) {', '.join(sorted(unknown))}; known: {', '.join(Options.model_fields)}")
    validated = Options(**(options or {}))
    observables_for(validated.live_out, validated.preset)
    return validated


def unknown_result(options: dict, reason: str, elapsed: float | None = None) -> Result:
    """A Result with verdict `unknown` for a check that did not finish (killed, crashed, internal error)."""
    from . import __version__

    return Result(
        verdict=Verdict.unknown, reason=reason, source=SnippetReport(), candidate=SnippetReport(),
        options=Options(**options), timings_ms={} if elapsed is None else {"total": round(elapsed * 1000, 3)},
        version=__version__,
    )


@dataclass
class _Task:
    source: str
    candidate: str
    options: dict  # validated, every field present
    future: concurrent.futures.Future


class _Worker:
    """One worker process and the pipe to it."""

    def __init__(self, context):
        self.connection, child_end = context.Pipe()
        # Not a daemon: daemonic processes may not start children, and check() starts a replay process.
        self.process = context.Process(target=_worker_main, args=(child_end,), name="a64eq-check", daemon=False)
        self.process.start()
        child_end.close()

    def wait_ready(self) -> None:
        """Wait for "ready" (imports and warm-up done); RuntimeError if the worker dies or takes too long."""
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not self.connection.poll(_WATCH_INTERVAL):
            if not self.process.is_alive():
                problem = f"died while starting ({self.death_note()})"
            elif time.monotonic() > deadline:
                problem = f"did not start within {_STARTUP_TIMEOUT:g} s"
            else:
                continue
            self.kill()
            raise RuntimeError(f"a check worker {problem}")
        self.connection.recv()

    def resident_mb(self) -> float:
        try:
            with open(f"/proc/{self.process.pid}/statm") as handle:
                return int(handle.read().split()[1]) * _PAGE_SIZE / 2**20
        except (OSError, IndexError, ValueError):  # exiting right now
            return 0.0

    def death_note(self) -> str:
        self.process.join(1.0)
        code = self.process.exitcode
        if code is not None and code < 0:
            return signal.Signals(-code).name
        return f"exit code {code}"

    def stop(self) -> None:
        """SIGKILL the worker and its process group (its replay process too) and reap it. Safe from any
        thread and more than once; the pipe stays open for the thread that may be waiting on it."""
        self.process.kill()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):  # died before making its group, or already gone
            pass
        self.process.join()

    def kill(self) -> None:
        """`stop`, then close the pipe: only from the thread that owns the worker, or once no thread does."""
        self.stop()
        if not self.connection.closed:
            self.connection.close()


class CheckPool:
    """`workers` warm worker processes running `verifier.check`, fed from one FIFO queue.

    The constructor returns once every worker is ready (a few seconds) and raises RuntimeError if one
    cannot start. The queue itself is unbounded: bounding it (backpressure) is the caller's decision.
    """

    def __init__(self, workers: int | None = None, *, memory_limit_mb: int | None = 4096,
                 grace_seconds: float = 5.0, max_seconds: float | None = None):
        """`max_seconds`, when set, caps every check's hard limit (a server's per-check limit)."""
        self.size = workers or os.cpu_count() or 1
        self.memory_limit_mb = memory_limit_mb
        self.grace_seconds = grace_seconds
        self.max_seconds = max_seconds
        self._context = multiprocessing.get_context("spawn")  # no fork: the caller may hold threads and locks
        self._tasks: queue.Queue[_Task | None] = queue.Queue()
        self._lock = threading.Lock()
        self._restarts = 0
        self._running = 0
        self._closed = False
        self._workers = [_Worker(self._context) for _ in range(self.size)]
        try:
            for worker in self._workers:
                worker.wait_ready()
        except RuntimeError:
            for worker in self._workers:
                worker.kill()
            raise
        self._threads = [threading.Thread(target=self._feed, args=(slot,), name=f"a64eq-pool-{slot}", daemon=True)
                         for slot in range(self.size)]
        for thread in self._threads:
            thread.start()
        atexit.register(self.close)  # before multiprocessing's own exit hook, which would wait for the workers

    # ---- the interface -------------------------------------------------------------------------------

    def submit(self, source: str, candidate: str, options: dict | None = None) -> concurrent.futures.Future:
        """Queue a check; the future resolves to its Result. Bad options raise ValueError here, not later."""
        validated = validate_options(options)
        if self._closed:
            raise RuntimeError("the check pool is closed")
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._tasks.put(_Task(source, candidate, validated.model_dump(), future))
        return future

    def check(self, source: str, candidate: str, options: dict | None = None) -> Result:
        return self.submit(source, candidate, options).result()

    def limit_for(self, options: dict) -> float:
        """The hard wall-clock limit of one check: its two solver budgets (`timeout` and `fp_timeout`, which
        do not draw on each other) plus grace, capped by `max_seconds`."""
        fp_timeout = options.get("fp_timeout", Options.model_fields["fp_timeout"].default)
        limit = options["timeout"] + fp_timeout + self.grace_seconds
        return limit if self.max_seconds is None else min(limit, self.max_seconds)

    @property
    def workers_alive(self) -> int:
        return sum(1 for worker in self._workers if worker.process.is_alive())

    @property
    def restarts(self) -> int:
        return self._restarts

    @property
    def running(self) -> int:
        """Checks a worker is busy with right now."""
        return self._running

    @property
    def queue_depth(self) -> int:
        """Checks waiting for a worker (not counting those running)."""
        return self._tasks.qsize()

    def worker_pids(self) -> list[int]:
        return [worker.process.pid for worker in self._workers if worker.process.is_alive()]

    def close(self) -> None:
        """Stop the workers. Checks not finished yet are cancelled (their futures raise CancelledError)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.close)
        while True:
            try:
                task = self._tasks.get_nowait()
            except queue.Empty:
                break
            if task is not None:
                task.future.cancel()
        for _ in self._threads:
            self._tasks.put(None)
        for worker in self._workers:
            worker.stop()  # a feeding thread watching it notices, and leaves its check cancelled
        for thread in self._threads:
            thread.join()
        for worker in self._workers:
            worker.kill()  # no thread uses the pipes any more

    def __enter__(self) -> CheckPool:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ---- one feeding thread per worker ---------------------------------------------------------------

    def _feed(self, slot: int) -> None:
        """Run checks from the queue on this slot's worker, one at a time, replacing the worker when it is lost."""
        while True:
            self._ensure_worker(slot)
            try:
                task = self._tasks.get(timeout=_WATCH_INTERVAL * 10)
            except queue.Empty:
                continue
            if task is None:
                return
            if self._closed:
                task.future.cancel()
                return
            if not task.future.set_running_or_notify_cancel():
                continue
            with self._lock:
                self._running += 1
            try:
                result = self._run_on_a_live_worker(slot, task)
            except Exception as exc:  # noqa: BLE001 - a bug here must not leave the caller waiting forever
                result = unknown_result(task.options, f"internal error in the check pool: {type(exc).__name__}: {exc}")
            finally:
                with self._lock:
                    self._running -= 1
            if result is None:  # the pool was closed during the check
                task.future.set_exception(concurrent.futures.CancelledError("the check pool was closed"))
                return
            task.future.set_result(result)  # before replacing a lost worker: the caller need not wait for that

    def _run_on_a_live_worker(self, slot: int, task: _Task) -> Result | None:
        """Run the check; a worker that turns out dead before it took the check (killed from outside while
        idle, say) is not the check's fault: replace it and try again, a few times."""
        for _ in range(_ATTEMPTS):
            self._ensure_worker(slot)
            if self._closed:
                return None
            result = self._run(self._workers[slot], task)
            if result is not _NOT_STARTED:
                return result
        return unknown_result(task.options, f"no worker process could take the check ({_ATTEMPTS} attempts)")

    def _run(self, worker: _Worker, task: _Task) -> Result | None | object:
        """Run one check, watching time and memory; a worker past a limit is killed (and replaced later).

        Returns the Result, None when the pool was closed meanwhile, or _NOT_STARTED when the worker died
        before acknowledging the check."""
        limit = self.limit_for(task.options)
        started = time.monotonic()
        acknowledged = False
        try:
            worker.connection.send((task.source, task.candidate, task.options))
            while True:
                if wait([worker.connection], _WATCH_INTERVAL):
                    message = worker.connection.recv()
                    if message == "started":
                        acknowledged = True
                        continue
                    return message
                # Death is seen by waitpid, not by the pipe, which a child of the worker may hold open too.
                if not worker.process.is_alive():
                    reason = f"the worker process died during the check ({worker.death_note()})"
                    break
                if time.monotonic() - started > limit:
                    reason = f"the check exceeded its hard time limit of {limit:g} s and its worker was killed"
                    break
                if self.memory_limit_mb is not None and worker.resident_mb() > self.memory_limit_mb:
                    reason = (f"the check exceeded the memory limit of {self.memory_limit_mb} MB "
                              "and its worker was killed")
                    break
        except (EOFError, OSError):
            reason = f"the worker process died during the check ({worker.death_note()})"
        worker.kill()
        if self._closed:
            return None
        if not acknowledged and not reason.startswith("the check exceeded"):
            return _NOT_STARTED
        return unknown_result(task.options, reason, time.monotonic() - started)

    def _ensure_worker(self, slot: int) -> None:
        if not self._closed and not self._workers[slot].process.is_alive():
            self._replace(slot)

    def _replace(self, slot: int) -> None:
        """Kill what is left of the slot's worker and start a fresh one (retrying: a start can fail transiently)."""
        self._workers[slot].kill()
        while not self._closed:
            worker = _Worker(self._context)
            try:
                worker.wait_ready()
            except RuntimeError:
                time.sleep(1.0)
                continue
            with self._lock:
                if self._closed:
                    worker.kill()
                    return
                self._workers[slot] = worker
                self._restarts += 1
            return
