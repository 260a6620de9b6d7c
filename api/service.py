"""What the endpoints share: the settings, the check pool, the job store and its runner, the metrics.

Backpressure lives here. The pool's queue is unbounded on purpose; the service admits a request only
while the checks waiting for a worker stay within `queue_size`, and otherwise answers 429 with a
Retry-After estimated from how fast checks have been finishing.
"""

from __future__ import annotations

import asyncio
import math
import time

from fastapi import HTTPException, status

from verifier.pool import CheckPool
from verifier.result import Result

from .jobs import JobRunner, JobStore
from .metrics import Metrics
from .models import CheckRequest
from .settings import Settings


class Service:
    def __init__(self, settings: Settings):
        """Start the workers (a few seconds: each imports the verifier and runs one warm-up check)."""
        self.settings = settings
        self.pool = CheckPool(settings.workers, memory_limit_mb=settings.memory_limit_mb,
                              max_seconds=settings.check_limit)
        self.metrics = Metrics(self.pool)
        self.store = JobStore(settings.job_store)
        self.jobs = JobRunner(self.store, self.pool, in_flight=2 * settings.workers, on_result=self.metrics.observe)
        self.jobs.start()
        self._mean_seconds = 1.0  # recent mean time a worker spends on a check, for Retry-After

    def close(self) -> None:
        """Stop in dependency order: no new job work, then the workers, then the store."""
        self.jobs.stop()
        self.pool.close()
        self.store.close()

    def admit(self, checks: int) -> None:
        """Refuse (429) work that would make more than `queue_size` checks wait for a worker."""
        if self.pool.queue_depth + checks > self.settings.queue_size:
            self.metrics.rejected.inc()
            wait = self.pool.queue_depth * self._mean_seconds / self.settings.workers
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                                detail=f"the queue is full ({self.pool.queue_depth} checks waiting); retry later",
                                headers={"Retry-After": str(max(1, math.ceil(wait)))})

    async def check(self, request: CheckRequest) -> Result:
        """Run one admitted check in the pool and record it in the metrics."""
        started = time.monotonic()
        try:
            future = self.pool.submit(request.source, request.candidate, request.options.model_dump())
        except RuntimeError:  # the pool is closed: the server is shutting down
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="the server is shutting down",
                                headers={"Retry-After": "5"}) from None
        result = await asyncio.wrap_future(future)
        self.metrics.request_seconds.observe(time.monotonic() - started)
        self._mean_seconds = 0.9 * self._mean_seconds + 0.1 * result.timings_ms.get("total", 1000.0) / 1000
        self.metrics.observe(result)
        return result
