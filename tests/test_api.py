"""The HTTP API against a real `a64eq serve` on a loopback port, checks running in its real worker processes."""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from api.client import Client
from api.testing import LocalServer
from verifier import check as library_check

EQUIVALENT = ("add x0, x0, x0", "lsl x0, x0, #1")
NOT_EQUIVALENT = ("add w0, w1, w2", "add x0, x1, x2")
INVALID = ("addd x0, x1, x2", "add x0, x1, x2")
# x / y * y against x in IEEE double: false (0 / 0 is a NaN), but Z3 needs 2-14 s of FP solving to find it.
HARD_FP = ("fdiv d0, d1, d2\nfmul d0, d0, d2", "fmov d0, d1")
# True, but beyond Z3 for over a minute (see tests/test_pool.py): with a 30 s solver timeout it always
# runs into the server's 3 s hard limit; with a 2 s timeout the solver gives up by itself.
HARD = ("add x1, x1, x4\nmul x0, x0, x1",
        "eor x2, x1, x4\nmul x2, x0, x2\nand x3, x1, x4\nmul x3, x0, x3\nadd x0, x2, x3\nadd x0, x0, x3")
CHECK_LIMIT = 3
QUEUE_SIZE = 6
MAX_BATCH = 4
MAX_BODY = 256 * 1024
MAX_JOB = 512 * 1024
API_KEY = "test-key-0123456789"
ALLOWED_ORIGIN = "http://allowed.example"


def pair(source, candidate, **options) -> dict:
    return {"source": source, "candidate": candidate, "options": options}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    flags = ["--workers", "2", "--check-limit", str(CHECK_LIMIT), "--queue-size", str(QUEUE_SIZE),
             "--max-batch", str(MAX_BATCH), "--max-body-bytes", str(MAX_BODY), "--max-job-bytes", str(MAX_JOB)]
    store = str(tmp_path_factory.mktemp("jobs") / "jobs.sqlite")
    with LocalServer(*flags, job_store=store, env={"A64EQ_API_KEY": "", "A64EQ_CORS_ORIGINS": ""}) as server:
        yield server


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def wait_for(condition, timeout=60.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(interval)
    return value


def readiness(http) -> dict:
    return http.get("/readyz").json()


def finished_job(http, job_id: str, timeout=60.0) -> dict:
    return wait_for(lambda: (status := http.get(f"/v1/jobs/{job_id}").json())["state"] in ("done", "cancelled")
                    and status, timeout)


# ---- operations -------------------------------------------------------------------------------------

def test_healthz_and_readyz(http):
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["ready"] and ready.json()["workers"] == 2


def test_openapi_is_the_contract(http):
    spec = http.get("/openapi.json").json()
    assert set(spec["paths"]) >= {"/v1/check", "/v1/check/batch", "/v1/jobs", "/v1/jobs/{job_id}",
                                  "/v1/jobs/{job_id}/results", "/healthz", "/readyz", "/metrics"}
    check = spec["paths"]["/v1/check"]["post"]
    assert check["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Result")
    assert "429" in check["responses"]
    assert set(spec["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]) == {
        "application/json", "application/x-ndjson", "multipart/form-data"}
    assert http.get("/docs").status_code == 200


# ---- POST /v1/check ---------------------------------------------------------------------------------

@pytest.mark.parametrize("snippets, verdict", [(EQUIVALENT, "equivalent"), (NOT_EQUIVALENT, "not_equivalent"),
                                               (INVALID, "invalid")])
def test_check_answers_like_the_library(http, snippets, verdict):
    response = http.post("/v1/check", json=pair(*snippets))
    assert response.status_code == 200  # an invalid snippet is a result, not a bad request
    body = response.json()
    expected = library_check(*snippets).model_dump(mode="json")
    assert set(body) == set(expected)
    assert body["verdict"] == expected["verdict"] == verdict
    assert body["source"] == expected["source"] and body["candidate"] == expected["candidate"]
    if verdict == "not_equivalent":
        assert body["counterexample"]["confirmed"]
        assert [d["location"] for d in body["counterexample"]["differences"]] == ["x0"]
    if verdict == "invalid":
        assert body["source"]["error"]["kind"] == "opcode" and body["source"]["error"]["line"] == 1


def test_check_options_are_applied(http):
    body = http.post("/v1/check", json=pair("add w0, w1, w2\nmov x3, #1", "add x0, x1, x2\nmov x3, #1",
                                            live_out=["w0", "x3"], timeout=5)).json()
    assert body["verdict"] == "equivalent"
    assert body["options"]["live_out"] == ["w0", "x3"] and body["options"]["timeout"] == 5


def test_fp_timeout_is_applied_to_fp_queries(http):
    body = http.post("/v1/check", json=pair(*HARD_FP, live_out=["d0"], timeout=30, fp_timeout=0.05)).json()
    assert body["verdict"] == "unknown"
    assert "floating-point query for d0" in body["reason"] and "FP time limit of 0.05 s" in body["reason"]
    assert body["options"]["fp_timeout"] == 0.05 and body["options"]["timeout"] == 30
    assert http.post("/v1/check", json=pair(*EQUIVALENT)).json()["options"]["fp_timeout"] == 30


def test_fp_timeout_in_the_openapi_contract(http):
    fields = http.get("/openapi.json").json()["components"]["schemas"]["CheckOptions"]["properties"]
    assert fields["fp_timeout"]["default"] == 30 and fields["fp_timeout"]["exclusiveMinimum"] == 0
    assert fields["fp_timeout"]["maximum"] == fields["timeout"]["maximum"] == 3600


@pytest.mark.parametrize("request_body, where", [
    ({"source": "nop"}, ["body", "candidate"]),
    (pair(*EQUIVALENT, timeout=-1), ["body", "options", "timeout"]),
    (pair(*EQUIVALENT, fp_timeout=0), ["body", "options", "fp_timeout"]),
    (pair(*EQUIVALENT, fp_timeout=-1), ["body", "options", "fp_timeout"]),
    (pair(*EQUIVALENT, fp_timeout=3601), ["body", "options", "fp_timeout"]),
    (pair(*EQUIVALENT, fp_timeout="soon"), ["body", "options", "fp_timeout"]),
    (pair(*EQUIVALENT, fptimeout=5), ["body", "options", "fptimeout"]),
    (pair(*EQUIVALENT, preset="fast"), ["body", "options", "preset"]),
    (pair(*EQUIVALENT, live_out=["x99"]), ["body", "options"]),
    (pair(*EQUIVALENT, liveout=["x0"]), ["body", "options", "liveout"]),  # misspelt: not silently ignored
    ({"source": 1, "candidate": "nop"}, ["body", "source"]),
])
def test_malformed_requests_get_422_saying_where(http, request_body, where):
    response = http.post("/v1/check", json=request_body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == where


def test_a_body_that_is_not_json_gets_422(http):
    response = http.post("/v1/check", content=b"add x0, x0, x0", headers={"Content-Type": "application/json"})
    assert response.status_code == 422


def test_a_snippet_too_large_is_an_invalid_result(http):
    body = http.post("/v1/check", json=pair("nop\n" * 300, "nop")).json()
    assert body["verdict"] == "invalid"
    assert body["source"]["error"]["kind"] == "too_large"


def test_an_oversized_body_gets_413(http):
    response = http.post("/v1/check", json=pair("nop\n" * (MAX_BODY // 4), "nop"))
    assert response.status_code == 413


# ---- POST /v1/check/batch ---------------------------------------------------------------------------

def test_batch_answers_in_order(http):
    pairs = [pair(*NOT_EQUIVALENT), pair(*EQUIVALENT), pair(*INVALID), pair(*EQUIVALENT, live_out=["x0"])]
    response = http.post("/v1/check/batch", json={"pairs": pairs})
    assert response.status_code == 200
    assert [r["verdict"] for r in response.json()["results"]] == ["not_equivalent", "equivalent", "invalid",
                                                                 "equivalent"]


def test_batch_with_too_many_pairs_gets_413(http):
    response = http.post("/v1/check/batch", json={"pairs": [pair(*EQUIVALENT)] * (MAX_BATCH + 1)})
    assert response.status_code == 413
    assert f"at most {MAX_BATCH}" in response.json()["detail"]


def test_empty_batch_gets_422(http):
    assert http.post("/v1/check/batch", json={"pairs": []}).status_code == 422


# ---- limits, crashes, backpressure ------------------------------------------------------------------

def test_a_check_over_the_hard_limit_is_unknown_while_others_succeed(http):
    restarts = readiness(http)["restarts"]
    with ThreadPoolExecutor(4) as executor:
        started = time.monotonic()
        hard = executor.submit(http.post, "/v1/check", json=pair(*HARD, live_out=["x0"], timeout=30))
        time.sleep(0.3)  # the hard check holds one worker; the other keeps answering
        quick = [http.post("/v1/check", json=pair(*EQUIVALENT)).json()["verdict"] for _ in range(5)]
        body = hard.result().json()
        elapsed = time.monotonic() - started
    assert quick == ["equivalent"] * 5
    assert body["verdict"] == "unknown"
    assert f"hard time limit of {CHECK_LIMIT} s" in body["reason"]
    assert CHECK_LIMIT <= elapsed < CHECK_LIMIT + 5
    assert http.post("/v1/check", json=pair(*NOT_EQUIVALENT)).json()["verdict"] == "not_equivalent"
    assert wait_for(lambda: readiness(http)["restarts"] == restarts + 1)


def test_a_worker_killed_mid_check_is_replaced(http, server):
    restarts = readiness(http)["restarts"]
    wait_for(lambda: len(server.worker_pids()) == 2)
    old = set(server.worker_pids())
    with ThreadPoolExecutor(1) as executor:
        hard = executor.submit(http.post, "/v1/check", json=pair(*HARD, live_out=["x0"], timeout=30))
        wait_for(lambda: readiness(http)["running"] == 1, interval=0.02)
        time.sleep(0.3)  # deep in the solver
        for pid in old:
            os.kill(pid, signal.SIGKILL)
        body = hard.result().json()
    assert body["verdict"] == "unknown"
    assert "died during the check (SIGKILL)" in body["reason"]
    after = http.post("/v1/check", json=pair(*EQUIVALENT)).json()
    assert after["verdict"] == "equivalent", after["reason"]
    wait_for(lambda: (r := readiness(http))["workers_alive"] == 2 and r["restarts"] == restarts + 2)
    assert not old & set(server.worker_pids())


def test_a_full_queue_gets_429_with_retry_after(http):
    with ThreadPoolExecutor(QUEUE_SIZE + 2) as executor:
        # Two checks on which the solver gives up after 2 s hold both workers; six quick ones wait.
        blockers = [executor.submit(http.post, "/v1/check", json=pair(*HARD, live_out=["x0"], timeout=2))
                    for _ in range(2)]
        wait_for(lambda: readiness(http)["running"] == 2, interval=0.02)
        waiting = [executor.submit(http.post, "/v1/check", json=pair(*EQUIVALENT)) for _ in range(QUEUE_SIZE)]
        wait_for(lambda: readiness(http)["queue_depth"] == QUEUE_SIZE, interval=0.02)
        refused = http.post("/v1/check", json=pair(*EQUIVALENT))
        refused_batch = http.post("/v1/check/batch", json={"pairs": [pair(*EQUIVALENT)]})
        answers = [f.result() for f in blockers + waiting]
    assert refused.status_code == 429 and refused_batch.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert all(a.status_code == 200 for a in answers)
    assert [a.json()["verdict"] for a in answers[2:]] == ["equivalent"] * QUEUE_SIZE
    assert http.post("/v1/check", json=pair(*EQUIVALENT)).status_code == 200


# ---- /v1/jobs ---------------------------------------------------------------------------------------

def records(n=4):
    snippets = [EQUIVALENT, NOT_EQUIVALENT, INVALID]
    return [{"id": f"r{i}", "source": snippets[i % 3][0], "candidate": snippets[i % 3][1], "model": "m1",
             "note": i} for i in range(n)]


def test_a_job_from_a_json_list_runs_to_the_end(http):
    created = http.post("/v1/jobs", json=records(6))
    assert created.status_code == 202
    job = created.json()
    assert job["total"] == 6 and created.headers["Location"].endswith(f"/v1/jobs/{job['id']}")
    status = finished_job(http, job["id"])
    assert status["state"] == "done" and status["done"] == 6
    assert status["counts"] == {"equivalent": 2, "not_equivalent": 2, "invalid": 2}
    lines = http.get(f"/v1/jobs/{job['id']}/results").text.splitlines()
    outputs = [json.loads(line) for line in lines]
    assert sorted(o["id"] for o in outputs) == [f"r{i}" for i in range(6)]
    by_id = {o["id"]: o for o in outputs}
    assert by_id["r4"]["note"] == 4 and by_id["r4"]["model"] == "m1"  # input fields are echoed
    assert by_id["r4"]["result"]["verdict"] == "not_equivalent"
    assert by_id["r0"]["source"] == EQUIVALENT[0]
    # resumable: from an offset, the remaining lines in the same order
    assert http.get(f"/v1/jobs/{job['id']}/results", params={"offset": 4}).text.splitlines() == lines[4:]


def test_a_job_from_jsonl_and_from_a_file_upload(http):
    jsonl = "".join(json.dumps(r) + "\n" for r in records(3))
    by_body = http.post("/v1/jobs", content=jsonl, headers={"Content-Type": "application/x-ndjson"})
    by_file = http.post("/v1/jobs", files={"file": ("records.jsonl", jsonl.encode(), "application/x-ndjson")})
    for created in (by_body, by_file):
        assert created.status_code == 202, created.text
        job_id = created.json()["id"]
        # follow=true streams until the job is done
        with http.stream("GET", f"/v1/jobs/{job_id}/results", params={"follow": True}) as stream:
            assert stream.headers["content-type"].startswith("application/x-ndjson")
            ids = [json.loads(line)["id"] for line in stream.iter_lines() if line]
        assert sorted(ids) == ["r0", "r1", "r2"]


@pytest.mark.parametrize("body, content_type, message", [
    (json.dumps([{"id": 1, "source": "nop", "candidate": "nop"}] * 2), "application/json", "duplicate id 1"),
    ('{"id": 1, "source": "nop", "candidate": "nop"}\n{"id": 2,', "application/x-ndjson", "line 2"),
    ("[]", "application/json", "no records"),
])
def test_bad_job_uploads_get_422(http, body, content_type, message):
    response = http.post("/v1/jobs", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_job_uploads_have_their_own_size_limit(http):
    record = {"id": 1, "source": EQUIVALENT[0], "candidate": EQUIVALENT[1]}
    larger_than_a_check = http.post("/v1/jobs", json=[{**record, "note": "x" * (MAX_BODY + 1024)}])
    assert larger_than_a_check.status_code == 202
    assert http.post("/v1/jobs", json=[{**record, "note": "x" * MAX_JOB}]).status_code == 413


def test_a_record_without_candidate_gets_422_naming_it(http):
    response = http.post("/v1/jobs", json=[{"id": 1, "source": "nop", "candidate": "nop"}, {"id": 2, "source": "nop"}])
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", 1, "candidate"]


def test_job_records_take_fp_timeout_and_reject_a_bad_one(http):
    record = {"id": 1, "source": HARD_FP[0], "candidate": HARD_FP[1], "options": {"live_out": ["d0"], "fp_timeout": 0.05}}
    bad = http.post("/v1/jobs", json=[record, {**record, "id": 2, "options": {"fp_timeout": -1}}])
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", 1, "options", "fp_timeout"]
    job = http.post("/v1/jobs", json=[record]).json()
    assert finished_job(http, job["id"])["counts"] == {"unknown": 1}
    (line,) = http.get(f"/v1/jobs/{job['id']}/results").text.splitlines()
    result = json.loads(line)["result"]
    assert result["options"]["fp_timeout"] == 0.05 and "FP time limit of 0.05 s" in result["reason"]


def test_cancelling_a_job_stops_it(http):
    slow = [{"id": i, "source": HARD[0], "candidate": HARD[1], "options": {"live_out": ["x0"], "timeout": 1}}
            for i in range(12)]
    job_id = http.post("/v1/jobs", json=slow).json()["id"]
    wait_for(lambda: http.get(f"/v1/jobs/{job_id}").json()["state"] == "running")
    cancelled = http.delete(f"/v1/jobs/{job_id}")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    done = cancelled.json()["done"]
    time.sleep(2.5)  # checks already running may finish; nothing more is stored
    status = http.get(f"/v1/jobs/{job_id}").json()
    assert status["state"] == "cancelled" and status["done"] == done < 12
    assert len(http.get(f"/v1/jobs/{job_id}/results").text.splitlines()) == done


def test_unknown_jobs_are_404(http):
    for response in (http.get("/v1/jobs/nope"), http.get("/v1/jobs/nope/results"), http.delete("/v1/jobs/nope")):
        assert response.status_code == 404


# ---- metrics and CORS -------------------------------------------------------------------------------

def test_metrics_count_verdicts_stages_queue_and_restarts(http):
    http.post("/v1/check", json=pair(*EQUIVALENT))
    text = http.get("/metrics").text
    assert 'a64eq_checks_total{verdict="equivalent"}' in text
    assert 'a64eq_checks_total{verdict="not_equivalent"}' in text
    assert 'a64eq_check_stage_seconds_bucket{le="0.1",stage="solve"}' in text
    assert "a64eq_check_seconds_count" in text
    assert "a64eq_queue_depth 0.0" in text
    assert "a64eq_workers_alive 2.0" in text and "a64eq_checks_running 0.0" in text
    value = {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if line.startswith("a64eq_")}
    assert value["a64eq_worker_restarts_total"] == readiness(http)["restarts"]
    assert "a64eq_rejected_total" in value


def test_cors_is_off_unless_configured(http):
    preflight = http.options("/v1/check", headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


# ---- a server with an API key and CORS ---------------------------------------------------------------

@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    env = {"A64EQ_API_KEY": API_KEY, "A64EQ_CORS_ORIGINS": ALLOWED_ORIGIN, "A64EQ_WORKERS": "1"}
    store = str(tmp_path_factory.mktemp("secured") / "jobs.sqlite")
    with LocalServer(env=env, job_store=store) as server:
        yield server


@pytest.mark.parametrize("method, path", [("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/"), ("GET", "/docs"),
                                          ("GET", "/openapi.json"), ("POST", "/v1/check"), ("POST", "/v1/check/batch"),
                                          ("POST", "/v1/jobs"), ("GET", "/v1/jobs/x"), ("GET", "/v1/jobs/x/results"),
                                          ("DELETE", "/v1/jobs/x"), ("GET", "/static/app.js")])
def test_with_a_key_every_endpoint_but_healthz_needs_it(secured, method, path):
    for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}):
        response = httpx.request(method, secured.url + path, headers=headers, json=pair(*EQUIVALENT))
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert httpx.get(secured.url + "/healthz").status_code == 200


def test_the_key_is_accepted_as_header_bearer_or_basic_password(secured):
    url = secured.url + "/v1/check"
    for auth in ({"headers": {"X-API-Key": API_KEY}}, {"headers": {"Authorization": f"Bearer {API_KEY}"}},
                 {"auth": ("anyone", API_KEY)}):
        response = httpx.post(url, json=pair(*EQUIVALENT), timeout=60, **auth)
        assert response.status_code == 200 and response.json()["verdict"] == "equivalent"
    with Client(secured.url, api_key=API_KEY) as client:
        assert client.check(*NOT_EQUIVALENT).verdict.value == "not_equivalent"


def test_cors_allows_only_the_configured_origins(secured):
    def preflight(origin):
        return httpx.options(secured.url + "/v1/check", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-api-key"})
    allowed = preflight(ALLOWED_ORIGIN)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "x-api-key" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in preflight("http://elsewhere.example").headers


# ---- restarts -----------------------------------------------------------------------------------------

def test_a_job_survives_a_server_crash_with_one_result_per_id(tmp_path):
    store = str(tmp_path / "jobs.sqlite")
    snippets = [EQUIVALENT, NOT_EQUIVALENT, (HARD[0], HARD[1])]
    job = [{"id": f"k{i}", "source": snippets[i % 3][0], "candidate": snippets[i % 3][1],
            "options": {"live_out": ["x0"], "timeout": 1}} for i in range(12)]
    first = LocalServer("--workers", "1", job_store=store).start()
    try:
        job_id = httpx.post(first.url + "/v1/jobs", json=job).json()["id"]
        wait_for(lambda: httpx.get(f"{first.url}/v1/jobs/{job_id}").json()["done"] >= 2)
        first.kill()  # SIGKILL: no shutdown at all, a check may be half done
    finally:
        first.stop()
    with LocalServer("--workers", "2", job_store=store) as second, httpx.Client(base_url=second.url) as http:
        before = http.get(f"/v1/jobs/{job_id}").json()
        assert 2 <= before["done"] < 12
        status = finished_job(http, job_id)
        lines = http.get(f"/v1/jobs/{job_id}/results").text.splitlines()
    assert status["state"] == "done" and status["done"] == 12
    ids = [json.loads(line)["id"] for line in lines]
    assert sorted(ids) == sorted(r["id"] for r in job)  # every id once: none lost, none graded twice
