"""api.client.Client against a real server kept deliberately small (one worker, room for one waiting check)."""

from __future__ import annotations

import httpx
import pytest

from api.client import Client
from api.testing import LocalServer
from verifier.result import Result, Verdict

EQUIVALENT = ("add x0, x0, x0", "lsl x0, x0, #1")
NOT_EQUIVALENT = ("add w0, w1, w2", "add x0, x1, x2")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    store = str(tmp_path_factory.mktemp("client") / "jobs.sqlite")
    flags = ["--workers", "1", "--queue-size", "1", "--max-batch", "1"]
    with LocalServer(*flags, job_store=store, env={"A64EQ_API_KEY": ""}) as server:
        yield server


@pytest.fixture
def client(server):
    with Client(server.url) as client:
        yield client


def rejected(server) -> float:
    metrics = httpx.get(server.url + "/metrics").text
    return float(next(line for line in metrics.splitlines() if line.startswith("a64eq_rejected_total")).split()[1])


def test_check_returns_a_result(client):
    result = client.check(*EQUIVALENT, live_out=["x0"])
    assert isinstance(result, Result)
    assert result.verdict == Verdict.equivalent and result.options.live_out == ["x0"]


def test_check_many_retries_when_the_server_is_busy_and_keeps_the_order(client, server, capfd):
    before = rejected(server)
    pairs = [EQUIVALENT, NOT_EQUIVALENT] * 4 + [{"source": "add w0, w1, w2\nmov x3, #1",
                                                 "candidate": "add x0, x1, x2\nmov x3, #1",
                                                 "options": {"live_out": ["w0"]}}]
    results = client.check_many(pairs, concurrency=6)
    assert [r.verdict for r in results] == [Verdict.equivalent, Verdict.not_equivalent] * 4 + [Verdict.equivalent]
    assert rejected(server) > before  # six at once cannot fit one worker and one queue slot: 429s were retried
    progress = capfd.readouterr().err
    assert "checked 9/9" in progress and "/s" in progress


def test_bad_requests_raise(client):
    with pytest.raises(httpx.HTTPStatusError) as error:
        client.check(*EQUIVALENT, live_out=["x99"])
    assert error.value.response.status_code == 422


def test_a_job_submitted_and_followed_to_the_end(client):
    records = [{"id": i, "source": EQUIVALENT[0], "candidate": EQUIVALENT[1] if i % 2 else NOT_EQUIVALENT[1]}
               for i in range(5)]
    job_id = client.submit_job(records)
    lines = list(client.results(job_id))
    assert sorted(line["id"] for line in lines) == list(range(5))
    assert {line["id"]: line["result"]["verdict"] for line in lines}[1] == "equivalent"
    status = client.job(job_id)
    assert status.state.value == "done" and status.done == 5
    assert client.cancel(job_id).state.value == "done"  # a finished job stays done
