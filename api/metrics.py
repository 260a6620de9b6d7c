"""Prometheus metrics, in a registry of the app's own (so two apps in one process do not collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from verifier.pool import CheckPool
from verifier.result import Result

# Checks range from milliseconds (invalid input) to the hard limit (a minute by default).
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class _PoolCollector:
    """Reads the pool's gauges at scrape time."""

    def __init__(self, pool: CheckPool):
        self._pool = pool

    def collect(self):
        yield GaugeMetricFamily("a64eq_queue_depth", "Checks waiting for a worker", value=self._pool.queue_depth)
        yield GaugeMetricFamily("a64eq_workers_alive", "Worker processes up", value=self._pool.workers_alive)
        yield GaugeMetricFamily("a64eq_checks_running", "Checks a worker is busy with", value=self._pool.running)
        yield CounterMetricFamily("a64eq_worker_restarts", "Workers replaced after a limit or a crash",
                                  value=self._pool.restarts)


class Metrics:
    def __init__(self, pool: CheckPool):
        self.registry = CollectorRegistry()
        self.checks = Counter("a64eq_checks", "Checks answered, by verdict", ["verdict"], registry=self.registry)
        self.stage_seconds = Histogram("a64eq_check_stage_seconds", "Time spent in each pipeline stage of a check",
                                       ["stage"], buckets=_BUCKETS, registry=self.registry)
        self.request_seconds = Histogram("a64eq_check_seconds",
                                         "Time from accepting a check to its result, queue included",
                                         buckets=_BUCKETS, registry=self.registry)
        self.rejected = Counter("a64eq_rejected", "Requests turned away with 429 because the queue was full",
                                registry=self.registry)
        self.registry.register(_PoolCollector(pool))

    def observe(self, result: Result) -> None:
        self.checks.labels(result.verdict.value).inc()
        for stage, ms in result.timings_ms.items():
            self.stage_seconds.labels(stage).observe(ms / 1000)
