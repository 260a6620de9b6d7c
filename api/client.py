"""A small client for evaluation scripts (httpx).

    from api.client import Client

    with Client("http://127.0.0.1:8000") as client:
        print(client.check("add x0, x0, x0", "lsl x0, x0, #1").verdict)          # Verdict.equivalent
        results = client.check_many([(a, b) for a, b in pairs], live_out=["x0"])  # retries, progress bar
        job = client.submit_job(records)                                          # large batches
        for line in client.results(job): ...                                      # streamed as they finish

Busy servers answer 429/503 with Retry-After; every call here waits and retries (up to `retries` times).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx

from verifier.result import Result

from .models import JobStatus

_RETRY_STATUSES = {429, 503}


class Client:
    def __init__(self, url: str, api_key: str | None = None, *, timeout: float = 300.0, retries: int = 10):
        """`timeout` is per HTTP request (a check can take up to the server's limit); `retries` per call."""
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)
        self.retries = retries

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def check(self, source: str, candidate: str, **options) -> Result:
        """One pair; options as in `verifier.check` (live_out, preset, timeout, fp_timeout, replay, unroll)."""
        body = {"source": source, "candidate": candidate, "options": options}
        return Result.model_validate(self._request("POST", "/v1/check", json=body).json())

    def check_many(self, pairs: Iterable, *, concurrency: int = 4, progress: bool = True, **options) -> list[Result]:
        """Many pairs, `concurrency` at a time; results in the order of `pairs`.

        Each pair is `(source, candidate)`, `(source, candidate, options)` or a dict with those keys; its
        own options override the shared `options`. A progress bar goes to stderr unless `progress=False`.
        """
        requests = [_as_request(pair, options) for pair in pairs]
        bar = _Progress(len(requests)) if progress else None
        results: list[Result | None] = [None] * len(requests)

        def one(index: int) -> None:
            request = requests[index]
            results[index] = self.check(request["source"], request["candidate"], **request["options"])
            if bar:
                bar.advance()

        with ThreadPoolExecutor(max_workers=concurrency) as executor:
            list(executor.map(one, range(len(requests))))
        if bar:
            bar.finish()
        return results

    def submit_job(self, records: Iterable[dict]) -> str:
        """Upload records (id, source, candidate, optional reference, model, options) as JSONL; the job id."""
        body = "".join(json.dumps(record) + "\n" for record in records).encode()
        response = self._request("POST", "/v1/jobs", content=body, headers={"Content-Type": "application/x-ndjson"})
        return response.json()["id"]

    def job(self, job_id: str) -> JobStatus:
        return JobStatus.model_validate(self._request("GET", f"/v1/jobs/{job_id}").json())

    def cancel(self, job_id: str) -> JobStatus:
        return JobStatus.model_validate(self._request("DELETE", f"/v1/jobs/{job_id}").json())

    def results(self, job_id: str, *, follow: bool = True) -> Iterator[dict]:
        """A job's output records (input fields plus `result`) as they finish; with `follow`, until the job ends.

        A dropped connection is resumed from the number of lines already received.
        """
        received = 0
        for attempt in range(self.retries + 1):
            try:
                params = {"offset": received, "follow": follow}
                with self._http.stream("GET", f"/v1/jobs/{job_id}/results", params=params, timeout=None) as response:
                    response.raise_for_status()
                    for line in response.iter_lines():
                        if line:
                            received += 1
                            yield json.loads(line)
                return
            except httpx.TransportError:
                if attempt == self.retries:
                    raise
                time.sleep(min(2**attempt, 30))

    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        """One request, retried on 429/503 (after Retry-After) and on connection errors; raises other errors."""
        attempt = 0
        while True:
            backoff = min(2**attempt, 30)
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError:
                if attempt >= self.retries:
                    raise
            else:
                if response.status_code not in _RETRY_STATUSES or attempt >= self.retries:
                    response.raise_for_status()
                    return response
                backoff = float(response.headers.get("Retry-After", backoff))
            attempt += 1
            time.sleep(backoff)


def _as_request(pair, shared: dict) -> dict:
    if isinstance(pair, dict):
        source, candidate, own = pair["source"], pair["candidate"], pair.get("options") or {}
    else:
        source, candidate, own = pair[0], pair[1], (pair[2] if len(pair) > 2 else {})
    return {"source": source, "candidate": candidate, "options": {**shared, **own}}


class _Progress:
    """`checked 120/1000  34.2/s  ETA 26 s` on stderr, redrawn in place."""

    def __init__(self, total: int):
        self.total, self.done, self.started = total, 0, time.monotonic()
        self._lock = threading.Lock()

    def advance(self) -> None:
        with self._lock:
            self.done += 1
            self._draw()

    def _draw(self) -> None:
        rate = self.done / max(time.monotonic() - self.started, 1e-9)
        eta = (self.total - self.done) / rate if rate else 0
        sys.stderr.write(f"\rchecked {self.done}/{self.total}  {rate:.1f}/s  ETA {eta:.0f} s ")
        sys.stderr.flush()

    def finish(self) -> None:
        sys.stderr.write("\n")
