"""`a64eq grade` as users run it: the shipped corpus through the real command line, real worker pool,
real assembler, Z3 and unicorn, real on-disk cache; killed mid-run and resumed."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data" / "grading"
CORPUS = DATA / "corpus.jsonl"
EXPECTED = json.loads((DATA / "expected.json").read_text())


def a64eq(*args: object, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "verifier.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def by_id(path: Path) -> dict[str, dict]:
    lines = read_lines(path)
    assert len({line["id"] for line in lines}) == len(lines), "an id was written twice"
    return {line["id"]: line for line in lines}


def without_timings(line: dict) -> dict:
    """A result line minus what legitimately differs between two runs of the same check: how long it took."""
    stripped = json.loads(json.dumps(line))
    for name in ("result", "reference_result"):
        if name in stripped:
            stripped[name]["timings_ms"] = {}
    return stripped


def summary(run: subprocess.CompletedProcess) -> dict[str, int]:
    """The grader's closing line, e.g. `graded 24 record(s) (0 already ...): 25 check(s) run, 0 from the cache`."""
    numbers = re.search(r"graded (\d+) record\(s\) \((\d+) already in the output, (\d+) in the input\): "
                        r"(\d+) check\(s\) run, (\d+) from the cache, (\d+) shared", run.stderr)
    assert numbers, run.stderr
    return dict(zip(("written", "skipped", "records", "checks_run", "cache_hits", "shared"), map(int, numbers.groups())))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The shipped corpus graded once, with a fresh cache: (directory, completed process)."""
    directory = tmp_path_factory.mktemp("graded")
    run = a64eq("grade", CORPUS, "-o", directory / "results.jsonl", "--cache", directory / "cache.sqlite", "--progress")
    assert run.returncode == 0, run.stderr
    return directory, run


def test_every_record_is_graded_once_with_its_verdict(graded):
    directory, _ = graded
    lines = by_id(directory / "results.jsonl")
    assert {i: line["result"]["verdict"] for i, line in lines.items()} == EXPECTED["verdicts"]
    assert lines["alpha/03"]["result"]["counterexample"]["confirmed"] is True
    assert lines["alpha/08"]["result"]["candidate"]["error"]["kind"] == "opcode"
    # the input fields are copied; the reference's own check comes along when there is a reference
    assert lines["alpha/05"]["options"] == {"timeout": 1, "live_out": ["x0"]}
    assert lines["alpha/07"]["reference_result"]["verdict"] == "not_equivalent"
    assert "reference_result" not in lines["beta/11"]


def test_progress_line_shows_rate_and_eta(graded):
    _, run = graded
    assert re.search(r"\[#{30}\] 24/24 100\.0%  \d+\.\d pairs/s  ETA 0s", run.stderr), run.stderr


def test_identical_pairs_are_checked_once_and_keep_their_own_clean_up_notes(graded):
    directory, run = graded
    stats = summary(run)
    # 24 candidate checks + 19 reference checks, of which 25 distinct (same references across models,
    # candidates equal to their reference, the same answer from both models)
    assert (stats["written"], stats["checks_run"], stats["cache_hits"], stats["shared"]) == (24, 25, 0, 18)
    lines = by_id(directory / "results.jsonl")
    # beta/10 is alpha/05's answer plus a sentence of prose: one check, two spellings
    assert lines["beta/10"]["result"]["candidate"]["dropped"] == ["line 3: prose"]
    assert lines["alpha/05"]["result"]["candidate"]["dropped"] == []
    assert lines["beta/10"]["result"]["reason"] == lines["alpha/05"]["result"]["reason"]


def test_second_run_does_no_solver_work_unless_asked_to_retry_unknowns(graded, tmp_path):
    directory, _ = graded
    again = a64eq("grade", CORPUS, "-o", tmp_path / "again.jsonl", "--cache", directory / "cache.sqlite")
    assert again.returncode == 0, again.stderr
    stats = summary(again)
    assert stats["checks_run"] == 0 and stats["cache_hits"] == 25 and stats["written"] == 24
    assert by_id(tmp_path / "again.jsonl") == by_id(directory / "results.jsonl")

    # unknown is cached like any verdict; on request it is checked again (alpha/05 and beta/10: one pair)
    for part in directory.glob("cache.sqlite*"):  # a copy: the retry rewrites its entry
        shutil.copy(part, tmp_path / part.name)
    retried = a64eq("grade", CORPUS, "-o", tmp_path / "retried.jsonl", "--cache", tmp_path / "cache.sqlite",
                    "--retry-unknown")
    assert retried.returncode == 0, retried.stderr
    assert summary(retried)["checks_run"] == 1 and summary(retried)["cache_hits"] == 24


def test_killed_run_resumes_without_duplicates_and_matches_an_uninterrupted_run(graded, tmp_path):
    directory, _ = graded
    output = tmp_path / "resumed.jsonl"
    command = [sys.executable, "-m", "verifier.cli", "grade", str(CORPUS), "-o", str(output), "--no-cache",
               "--workers", "1"]
    # its own process group, so that the kill takes the workers too, as a crash of the machine would
    grader = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (output.exists() and output.read_text().count("\n") >= 3):
            assert grader.poll() is None and time.monotonic() < deadline, "the grader ended before it could be killed"
            time.sleep(0.02)
    finally:
        os.killpg(grader.pid, signal.SIGKILL)
        grader.wait()
    written = output.read_text().count("\n")
    assert 3 <= written < len(EXPECTED["verdicts"]), "the kill came too late to test resuming"
    with open(output, "a") as handle:
        handle.write('{"id": "beta/0')  # what a kill in the middle of a write leaves

    resumed = a64eq("grade", CORPUS, "-o", output, "--no-cache", "--workers", "1")
    assert resumed.returncode == 0, resumed.stderr
    stats = summary(resumed)
    assert stats["skipped"] == written and stats["written"] == len(EXPECTED["verdicts"]) - written
    results = by_id(output)  # also asserts exactly one line per id
    uninterrupted = by_id(directory / "results.jsonl")
    assert results.keys() == uninterrupted.keys()
    for record_id, line in results.items():
        assert without_timings(line) == without_timings(uninterrupted[record_id]), record_id


def _session_processes(session: int) -> list[str]:
    """Live processes of a session (zombies hold nothing; a container's init may never reap them)."""
    listing = subprocess.run(["ps", "-o", "stat=,pid=,args=", "-s", str(session)], capture_output=True, text=True)
    return [line for line in listing.stdout.splitlines() if not line.lstrip().startswith("Z")]


def test_ctrl_c_stops_cleanly_keeping_every_finished_record(tmp_path):
    output = tmp_path / "interrupted.jsonl"
    with open(tmp_path / "stderr", "w") as stderr:
        grader = subprocess.Popen([sys.executable, "-m", "verifier.cli", "grade", str(CORPUS), "-o", str(output),
                                   "--no-cache", "--workers", "1"], stdout=subprocess.DEVNULL, stderr=stderr,
                                  start_new_session=True)
        deadline = time.monotonic() + 120
        while not (output.exists() and output.read_text().count("\n") >= 1):
            assert grader.poll() is None and time.monotonic() < deadline, "the grader ended before Ctrl-C"
            time.sleep(0.02)
        os.killpg(grader.pid, signal.SIGINT)  # what a terminal sends to the whole foreground group
        status = grader.wait(timeout=60)
    assert status == 130
    assert "interrupted" in (tmp_path / "stderr").read_text()
    lines = read_lines(output)  # every line complete
    assert 1 <= len(lines) < len(EXPECTED["verdicts"])
    assert all(line["result"]["verdict"] == EXPECTED["verdicts"][line["id"]] for line in lines)
    deadline = time.monotonic() + 10
    while _session_processes(grader.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _session_processes(grader.pid) == [], "workers left behind"


def test_duplicate_ids_are_rejected_before_any_work(tmp_path):
    lines = CORPUS.read_text().splitlines()
    doubled = tmp_path / "doubled.jsonl"
    doubled.write_text("\n".join([*lines, lines[3], lines[5]]) + "\n")
    run = a64eq("grade", doubled, "-o", tmp_path / "out.jsonl", "--no-cache")
    assert run.returncode == 2
    assert "duplicate id 'alpha/04' (first at line 4)" in run.stderr
    assert "duplicate id 'alpha/06' (first at line 6)" in run.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_bad_records_are_all_reported_before_any_work(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "source": "nop", "candidate": "nop", "options": {"live_out": ["x99"]}}\n'
                   '{"id": "b", "source": "nop"}\n'
                   'not json\n'
                   '{"id": "c", "source": "nop", "candidate": "nop", "options": {"timout": 3}}\n')
    run = a64eq("grade", bad, "-o", tmp_path / "out.jsonl", "--no-cache")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "4 problem(s)" in run.stderr and "line 1" in run.stderr and "x99" in run.stderr
    assert "line 2: missing candidate" in run.stderr and "line 3: not JSON" in run.stderr
    assert "unknown option(s) timout" in run.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_an_output_graded_with_other_options_is_not_mixed(graded, tmp_path):
    directory, _ = graded
    output = tmp_path / "results.jsonl"
    output.write_text((directory / "results.jsonl").read_text())
    run = a64eq("grade", CORPUS, "-o", output, "--timeout", "5", "--cache", directory / "cache.sqlite")
    assert run.returncode == 2 and "other options" in run.stderr
    assert output.read_text() == (directory / "results.jsonl").read_text()


def _write_other_formats(tmp_path: Path, records: list[dict]) -> dict[str, Path]:
    json_list = tmp_path / "records.json"
    json_list.write_text(json.dumps(records))
    table = tmp_path / "records.csv"
    with open(table, "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["id", "model", "source", "candidate", "reference", "options"])
        writer.writeheader()
        for record in records:
            writer.writerow({**record, "options": json.dumps(record["options"]) if "options" in record else ""})
    tree = tmp_path / "tree"
    for record in records:
        if "options" in record:
            continue  # a directory of .s files has no per-record options
        model, name = record["id"].split("/")
        (tree / model).mkdir(parents=True, exist_ok=True)
        for field in ("source", "candidate", "reference"):
            if field in record:
                (tree / model / f"{name}.{field}.s").write_text(record[field])
    return {"json": json_list, "csv": table, "directory": tree}


def test_json_list_csv_and_directory_inputs_grade_like_jsonl(graded, tmp_path):
    directory, _ = graded
    reference = by_id(directory / "results.jsonl")
    records = [json.loads(line) for line in CORPUS.read_text().splitlines()]
    for name, path in _write_other_formats(tmp_path, records).items():
        output = tmp_path / f"{name}.jsonl"
        run = a64eq("grade", path, "-o", output, "--cache", directory / "cache.sqlite")
        assert run.returncode == 0, (name, run.stderr)
        assert summary(run)["checks_run"] == 0, name  # same pairs, same options: all from the cache
        results = by_id(output)
        expected_ids = {r["id"] for r in records if name != "directory" or "options" not in r}
        assert results.keys() == expected_ids, name
        for record_id, line in results.items():
            assert line["model"] == reference[record_id]["model"], (name, record_id)
            assert line["result"] == reference[record_id]["result"], (name, record_id)


def test_fp_timeout_applies_to_every_record_and_a_record_may_override_it(tmp_path):
    records = tmp_path / "fp.jsonl"
    hard_fp = {"source": "fdiv d0, d1, d2\nfmul d0, d0, d2", "candidate": "fmov d0, d1"}  # 2-14 s of FP solving
    records.write_text(json.dumps({"id": "plain", "source": "nop", "candidate": "nop"}) + "\n"
                       + json.dumps({"id": "hard", **hard_fp, "options": {"live_out": ["d0"], "fp_timeout": 0.05}})
                       + "\n")
    run = a64eq("grade", records, "-o", tmp_path / "out.jsonl", "--no-cache", "--fp-timeout", "7", "--workers", "1")
    assert run.returncode == 0, run.stderr
    lines = by_id(tmp_path / "out.jsonl")
    assert lines["plain"]["result"]["options"]["fp_timeout"] == 7
    assert lines["hard"]["result"]["verdict"] == "unknown"
    assert lines["hard"]["result"]["options"]["fp_timeout"] == 0.05
    assert "FP time limit of 0.05 s" in lines["hard"]["result"]["reason"]


@pytest.mark.parametrize("value", ["0", "-3", "4000"])
def test_a_bad_fp_timeout_is_refused_before_any_work(tmp_path, value):
    run = a64eq("grade", CORPUS, "-o", tmp_path / "out.jsonl", "--no-cache", "--fp-timeout", value)
    assert run.returncode == 2 and "bad option: fp_timeout" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "out.jsonl").exists()
