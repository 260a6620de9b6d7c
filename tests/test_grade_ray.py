"""`a64eq grade --backend ray` against a real local Ray instance started here: the same results as the
local backend (only the timings differ)."""

from __future__ import annotations

import pytest
import ray
from test_grade import CORPUS, a64eq, by_id, summary, without_timings


@pytest.fixture(scope="module")
def ray_address():
    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield context.address_info["gcs_address"]
    finally:
        ray.shutdown()


def test_ray_backend_gives_the_local_results(ray_address, tmp_path):
    local = a64eq("grade", CORPUS, "-o", tmp_path / "local.jsonl", "--no-cache")
    assert local.returncode == 0, local.stderr
    on_ray = a64eq("grade", CORPUS, "-o", tmp_path / "ray.jsonl", "--no-cache", "--backend", "ray",
                   "--address", ray_address)
    assert on_ray.returncode == 0, on_ray.stderr
    assert summary(on_ray)["checks_run"] == summary(local)["checks_run"] == 25
    local_results, ray_results = by_id(tmp_path / "local.jsonl"), by_id(tmp_path / "ray.jsonl")
    assert ray_results.keys() == local_results.keys()
    for record_id in local_results:
        assert without_timings(ray_results[record_id]) == without_timings(local_results[record_id]), record_id


def test_ray_backend_refuses_a_cluster_it_cannot_reach(tmp_path):
    run = a64eq("grade", CORPUS, "-o", tmp_path / "out.jsonl", "--no-cache", "--backend", "ray",
                "--address", "127.0.0.1:1")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert not (tmp_path / "out.jsonl").read_text()
