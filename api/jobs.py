"""Batch jobs: an embedded SQLite store, and the runner that feeds its records to the check pool.

The guarantees, and what gives them:
- An accepted record is never lost: a job and all its records are committed in one transaction before
  its id is returned, with `synchronous=FULL`.
- A record is graded once: its result is written by a single UPDATE that only applies while it has no
  result yet (and the job is not cancelled). A check in flight when the server stops has no result, so
  the restarted server runs it again; its one result is written then.
- Results are streamed in the order they completed: each gets the next `done_seq` of its job, and a
  client resumes a stream from the number of lines it already has.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime, timezone
from functools import partial

from verifier.pool import CheckPool
from verifier.result import Result

from .models import JobState, JobStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id        TEXT PRIMARY KEY,
    total     INTEGER NOT NULL,
    created   REAL NOT NULL,
    started   REAL,
    finished  REAL,
    cancelled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS records (
    job_id   TEXT NOT NULL REFERENCES jobs(id),
    seq      INTEGER NOT NULL,  -- position in the upload
    record   TEXT NOT NULL,     -- the input record, JSON
    verdict  TEXT,              -- NULL until graded
    output   TEXT,              -- the output line: the input record plus "result"
    done_seq INTEGER,           -- completion order within the job; result offsets count these
    PRIMARY KEY (job_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS records_done ON records (job_id, done_seq);
CREATE INDEX IF NOT EXISTS records_pending ON records (job_id, seq) WHERE done_seq IS NULL;
"""


def _time(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, timezone.utc)


class JobStore:
    """Jobs and their records in one SQLite file, shared by the request handlers and the runner."""

    def __init__(self, path: str):
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()  # one connection, used from several threads
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def create(self, records: list[dict]) -> str:
        job_id = uuid.uuid4().hex
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT INTO jobs (id, total, created) VALUES (?, ?, ?)",
                             (job_id, len(records), time.time()))
            self._db.executemany("INSERT INTO records (job_id, seq, record) VALUES (?, ?, ?)",
                                 ((job_id, seq, json.dumps(record)) for seq, record in enumerate(records)))
        return job_id

    def status(self, job_id: str) -> JobStatus | None:
        with self._lock:
            job = self._db.execute("SELECT total, created, started, finished, cancelled FROM jobs WHERE id = ?",
                                   (job_id,)).fetchone()
            if job is None:
                return None
            counts = dict(self._db.execute("SELECT verdict, COUNT(*) FROM records "
                                           "WHERE job_id = ? AND verdict IS NOT NULL GROUP BY verdict",
                                           (job_id,)).fetchall())
        total, created, started, finished, cancelled = job
        done = sum(counts.values())
        if cancelled:
            state = JobState.cancelled
        elif done == total:
            state = JobState.done
        elif started is not None:
            state = JobState.running
        else:
            state = JobState.queued
        return JobStatus(id=job_id, state=state, total=total, done=done, counts=counts, created=_time(created),
                         started=_time(started), finished=_time(finished))

    def pending(self, limit: int, skip: set[tuple[str, int]]) -> list[tuple[str, int, dict]]:
        """Up to `limit` records without a result, oldest job first, leaving out those in `skip` (in flight)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT r.job_id, r.seq, r.record FROM records r JOIN jobs j ON j.id = r.job_id "
                "WHERE r.done_seq IS NULL AND j.cancelled = 0 ORDER BY j.created, r.job_id, r.seq LIMIT ?",
                (limit + len(skip),)).fetchall()
        return [(job_id, seq, json.loads(record)) for job_id, seq, record in rows if (job_id, seq) not in skip][:limit]

    def mark_started(self, job_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE jobs SET started = ? WHERE id = ? AND started IS NULL", (time.time(), job_id))

    def record_result(self, job_id: str, seq: int, verdict: str, output: str) -> bool:
        """Store one record's result, unless it has one already or the job was cancelled. True if stored."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            (next_done,) = self._db.execute("SELECT COALESCE(MAX(done_seq), -1) + 1 FROM records WHERE job_id = ?",
                                            (job_id,)).fetchone()
            stored = self._db.execute(
                "UPDATE records SET verdict = ?, output = ?, done_seq = ? WHERE job_id = ? AND seq = ? "
                "AND done_seq IS NULL AND job_id IN (SELECT id FROM jobs WHERE cancelled = 0)",
                (verdict, output, next_done, job_id, seq)).rowcount == 1
            if stored:
                self._db.execute("UPDATE jobs SET finished = ? WHERE id = ? AND total = ?",
                                 (time.time(), job_id, next_done + 1))
        return stored

    def results(self, job_id: str, offset: int, limit: int = 1000) -> list[str]:
        """Output lines number `offset` .. `offset + limit - 1`, in completion order."""
        with self._lock:
            rows = self._db.execute("SELECT output FROM records WHERE job_id = ? AND done_seq >= ? "
                                    "ORDER BY done_seq LIMIT ?", (job_id, offset, limit)).fetchall()
        return [output for (output,) in rows]

    def cancel(self, job_id: str) -> bool:
        """Stop grading a job (results so far are kept; a finished job stays done). False if there is no such job."""
        with self._lock:
            if self._db.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() is None:
                return False
            self._db.execute("UPDATE jobs SET cancelled = 1, finished = ? WHERE id = ? AND finished IS NULL",
                             (time.time(), job_id))
        return True


class JobRunner:
    """A thread that keeps a few job records in the pool at a time and stores each result as it comes.

    Only `in_flight` records are handed to the pool at once, so a large job never fills the queue that
    interactive checks share with it.
    """

    def __init__(self, store: JobStore, pool: CheckPool, in_flight: int, on_result: Callable[[Result], None]):
        self._store, self._pool, self._capacity, self._on_result = store, pool, in_flight, on_result
        self._futures: dict[tuple[str, int], Future] = {}
        self._started: set[str] = set()  # jobs marked started by this runner
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="a64eq-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """New work (a job was created) or free capacity."""
        self._wake.set()

    def cancel(self, job_id: str) -> bool:
        if not self._store.cancel(job_id):
            return False
        with self._lock:
            futures = [future for (owner, _), future in self._futures.items() if owner == job_id]
        for future in futures:  # outside the lock: cancelling runs the done callback, which takes it
            future.cancel()  # only succeeds while still queued; a running check's result is discarded
        return True

    def stop(self) -> None:
        """Stop feeding; results arriving from now on are not stored (those records run again after a restart)."""
        self._stopping = True
        self._wake.set()
        self._thread.join()
        with self._lock:
            futures = list(self._futures.values())
        for future in futures:
            future.cancel()

    def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            with self._lock:
                free, busy = self._capacity - len(self._futures), set(self._futures)
            if free > 0:
                for job_id, seq, record in self._store.pending(free, busy):
                    if job_id not in self._started:
                        self._store.mark_started(job_id)
                        self._started.add(job_id)
                    future = self._pool.submit(record["source"], record["candidate"], record.get("options"))
                    with self._lock:
                        self._futures[(job_id, seq)] = future
                    future.add_done_callback(partial(self._finished, (job_id, seq), record))
            self._wake.wait(1.0)

    def _finished(self, key: tuple[str, int], record: dict, future: Future) -> None:
        try:
            if not (self._stopping or future.cancelled() or future.exception() is not None):
                result: Result = future.result()
                output = json.dumps({**record, "result": result.model_dump(mode="json")})
                if self._store.record_result(*key, result.verdict.value, output):
                    self._on_result(result)
        finally:  # only now may the loop see this record as pending again (and find it graded)
            with self._lock:
                self._futures.pop(key, None)
            self._wake.set()
