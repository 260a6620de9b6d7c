"""Where checks run: local worker processes, or the actors of a Ray cluster.

Both backends run every check inside `verifier.pool.CheckPool`, the isolation the service uses: a
worker process per check slot, a memory limit, and a hard deadline (the two solver budgets, `timeout` +
`fp_timeout`, plus a grace period) after which the worker is killed and the check resolves to `unknown`. On Ray each actor owns a
one-worker pool, so a cluster grades with exactly the limits of a laptop and gives identical results
(only `timings_ms` differ).

A backend has `slots` (how many checks to keep in flight), `submit` (-> a Future of a Result) and
`close` (stop everything still running: Ctrl-C must not leave workers behind).
"""

from __future__ import annotations

import os
import re
import socket
import threading
from concurrent.futures import Future

from .. import __version__
from ..assemble import assembler_version
from ..result import Result


class BackendError(Exception):
    """The workers could not be started (a worker failed to start, a cluster is unreachable or differs)."""


class LocalBackend:
    """Worker processes on this machine (all cores by default)."""

    def __init__(self, workers: int | None = None):
        from ..pool import CheckPool

        self.workers = workers or os.cpu_count() or 1
        self.slots = 2 * self.workers  # one running and one queued per worker keeps every core busy
        try:
            self._pool = CheckPool(self.workers)
        except RuntimeError as exc:
            raise BackendError(str(exc)) from exc

    def submit(self, source: str, candidate: str, options: dict) -> Future:
        return self._pool.submit(source, candidate, options)

    def close(self) -> None:
        self._pool.close()


def _check_reachable(address: str | None) -> None:
    """Fail fast on a wrong `--address`: Ray itself keeps retrying an unreachable cluster for minutes."""
    endpoint = re.fullmatch(r"(?:ray://)?\[?([^\]]+?)\]?:(\d+)", address or "")
    if endpoint is None:
        return  # None or "auto": Ray starts or finds a local instance
    try:
        socket.create_connection((endpoint[1], int(endpoint[2])), timeout=5).close()
    except OSError as exc:
        raise BackendError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from exc


class _RayChecker:
    """A Ray actor (one CPU) that checks pairs in its own one-worker CheckPool."""

    def __init__(self):
        from verifier.pool import CheckPool

        self._pool = CheckPool(1)

    def versions(self) -> tuple[str, str]:
        return __version__, assembler_version()

    def check(self, source: str, candidate: str, options: dict) -> str:
        return self._pool.check(source, candidate, options).model_dump_json()

    def close(self) -> None:
        self._pool.close()


class RayBackend:
    """Actors on an existing Ray cluster (`address`), one per cluster CPU unless `workers` says otherwise.

    Ray is imported only here: it is an optional extra. The cluster's a64eq and assembler must be the
    versions of this grader (they are part of every result and cache key); this is checked up front.
    """

    def __init__(self, address: str | None, workers: int | None = None):
        import ray

        self._ray = ray
        _check_reachable(address)
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise BackendError(f"cannot connect to the Ray cluster at {address}: {exc}") from exc
        self.workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.slots = 2 * self.workers
        actor = ray.remote(num_cpus=1)(_RayChecker)
        self._actors = [actor.remote() for _ in range(self.workers)]
        self._in_flight = [0] * self.workers
        self._lock = threading.Lock()  # Ray resolves futures on its own thread
        theirs = ray.get(self._actors[0].versions.remote())
        ours = (__version__, assembler_version())
        if theirs != ours:
            self.close()
            raise BackendError(f"the Ray cluster runs a64eq {theirs[0]} with {theirs[1]}; "
                               f"this grader is a64eq {ours[0]} with {ours[1]}")

    def submit(self, source: str, candidate: str, options: dict) -> Future:
        with self._lock:
            index = min(range(self.workers), key=self._in_flight.__getitem__)  # the least busy actor
            self._in_flight[index] += 1
        result: Future = Future()

        def resolve(done: Future) -> None:
            with self._lock:
                self._in_flight[index] -= 1
            try:
                result.set_result(Result.model_validate_json(done.result()))
            except Exception as exc:  # noqa: BLE001 - an actor or node lost: handed on, the grader stops (resumable)
                result.set_exception(exc)

        self._actors[index].check.remote(source, candidate, options).future().add_done_callback(resolve)
        return result

    def close(self) -> None:
        """Close each actor's pool as the local backend does (its workers and their helpers exit), then end
        the actors. `ray.kill` alone would take the workers down without their replay helpers."""
        self._ray.wait([actor.close.remote() for actor in self._actors], num_returns=len(self._actors), timeout=30)
        for actor in self._actors:
            self._ray.kill(actor)
        self._ray.shutdown()
