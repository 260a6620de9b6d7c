"""CheckPool with real worker processes: results as from the library, hard limits, crashes, replacement."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import sys
import time

import pytest

from verifier import check
from verifier.pool import CheckPool
from verifier.result import Verdict

EQUIVALENT = ("add x0, x0, x0", "lsl x0, x0, #1")
NOT_EQUIVALENT = ("add w0, w1, w2", "add x0, x1, x2")
INVALID = ("addd x0, x1, x2", "add x0, x1, x2")
# a*(b+c) against a*(b^c) + 2*a*(b&c): true, but Z3 cannot prove it within a minute (measured: still
# `unknown` after 60 s). Any limit below the solver timeout therefore stops it from outside.
HARD = ("add x1, x1, x4\nmul x0, x0, x1",
        "eor x2, x1, x4\nmul x2, x0, x2\nand x3, x1, x4\nmul x3, x0, x3\nadd x0, x2, x3\nadd x0, x0, x3")
HARD_OPTIONS = {"live_out": ["x0"], "timeout": 120}
HARD_LIMIT = 2.0


@pytest.fixture(scope="module")
def pool():
    with CheckPool(2, max_seconds=HARD_LIMIT) as pool:
        yield pool


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


@pytest.mark.parametrize("pair", [EQUIVALENT, NOT_EQUIVALENT, INVALID], ids=["equivalent", "not-equivalent", "invalid"])
def test_results_are_the_librarys(pool, pair):
    expected = check(*pair)
    result = pool.check(*pair)
    assert result.verdict == expected.verdict
    assert result.source == expected.source and result.candidate == expected.candidate
    if expected.counterexample:  # the solver may pick another witness: compare where they differ
        assert [d.location for d in result.counterexample.differences] == \
            [d.location for d in expected.counterexample.differences]
    else:
        assert result.reason == expected.reason


def test_counterexamples_are_replayed_inside_the_worker(pool):
    """check() starts its own replay process; that nesting must work in a pool worker."""
    result = pool.check(*NOT_EQUIVALENT)
    assert result.verdict == Verdict.not_equivalent
    assert result.counterexample.confirmed, result.counterexample.replay_note


def test_options_reach_the_check(pool):
    result = pool.check("add w0, w1, w2\nmov x3, #1", "add x0, x1, x2\nmov x3, #1", {"live_out": ["w0"]})
    assert result.verdict == Verdict.equivalent
    assert result.options.live_out == ["w0"]


@pytest.mark.parametrize("options", [{"timeout": -1}, {"preset": "nope"}, {"live_out": ["x99"]}, {"colour": "red"}])
def test_bad_options_raise_in_the_caller(pool, options):
    with pytest.raises(ValueError):
        pool.submit(*EQUIVALENT, options)


def test_a_check_past_its_hard_limit_is_unknown_and_its_worker_replaced(pool):
    before_pids, before_restarts = set(pool.worker_pids()), pool.restarts
    started = time.monotonic()
    hard = pool.submit(*HARD, HARD_OPTIONS)
    others = [pool.submit(*EQUIVALENT) for _ in range(3)]
    assert [f.result().verdict for f in others] == [Verdict.equivalent] * 3  # the other worker keeps serving
    result = hard.result()
    elapsed = time.monotonic() - started
    assert result.verdict == Verdict.unknown
    assert f"hard time limit of {HARD_LIMIT:g} s" in result.reason
    assert HARD_LIMIT <= elapsed < HARD_LIMIT + 1  # answered at once, not after the replacement started
    wait_for(lambda: pool.restarts == before_restarts + 1)
    assert set(pool.worker_pids()) != before_pids
    assert pool.check(*EQUIVALENT).verdict == Verdict.equivalent


def test_the_hard_limit_counts_the_fp_budget_too():
    """FP queries are not charged to `timeout` (verifier/equivalence.py, Budget): a check whose FP query
    runs past its `timeout` + grace is within its limit while it is within `fp_timeout`."""
    # x * 0.5 == x / 2.0 in IEEE double: true; Z3 takes 1.1-2.0 s (measured) to prove it.
    medium_fp = ("fmov d3, #0.5\nfmul d0, d1, d3", "fmov d3, #2.0\nfdiv d0, d1, d3")
    options = {"live_out": ["d0"], "timeout": 0.05, "fp_timeout": 30}
    with CheckPool(1, grace_seconds=0.1) as pool:
        assert pool.limit_for(options) == pytest.approx(30.15)
        result = pool.check(*medium_fp, options)
    assert result.verdict == Verdict.equivalent, result.reason
    assert result.timings_ms["total"] > 150  # past timeout + grace: a limit of those alone would have killed it


@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGSEGV], ids=["SIGKILL", "SIGSEGV"])
def test_a_worker_dying_mid_check_gives_unknown_naming_the_signal(pool, signal_number):
    before = pool.restarts
    future = pool.submit(*HARD, HARD_OPTIONS)
    wait_for(lambda: future.running())
    time.sleep(1.0)  # let the worker take it (a worker dying before it acknowledges a check is replaced, and the check retried)
    for pid in pool.worker_pids():
        os.kill(pid, signal_number)
    result = future.result()
    assert result.verdict == Verdict.unknown
    assert signal_number.name in result.reason and "died during the check" in result.reason
    assert pool.check(*EQUIVALENT).verdict == Verdict.equivalent
    wait_for(lambda: pool.workers_alive == 2)
    assert pool.restarts == before + 2  # the idle one was replaced too


def test_a_worker_lost_before_it_takes_a_check_is_replaced_and_the_check_retried():
    """Killed from outside while idle, a worker's death is not the next check's fault. SIGSTOP holds the
    worker so that the check is sent to it but never acknowledged; then it is killed."""
    with CheckPool(1) as pool:
        (pid,) = pool.worker_pids()
        os.kill(pid, signal.SIGSTOP)
        future = pool.submit(*EQUIVALENT)
        wait_for(lambda: future.running())
        time.sleep(0.3)
        os.kill(pid, signal.SIGKILL)
        assert future.result().verdict == Verdict.equivalent
        assert pool.restarts == 1 and pool.worker_pids() != [pid]


def test_a_worker_over_the_memory_limit_is_killed():
    # A chain of multiplications bit-blasted by Z3: resident memory passes 200 MB within a few seconds
    # (measured: 240 MB after 4 s, 4.5 GB after a minute), while an idle worker holds about 120 MB.
    chain = "\n".join(["mul x0, x0, x1", "umulh x1, x1, x0", "eor x2, x2, x0"] * 20)
    candidate = chain.rsplit("\n", 1)[0] + "\norr x2, x2, x0"
    with CheckPool(1, memory_limit_mb=200) as pool:
        result = pool.check(chain, candidate, {"live_out": ["x2"], "timeout": 120, "replay": False})
        assert result.verdict == Verdict.unknown
        assert "memory limit of 200 MB" in result.reason
        wait_for(lambda: pool.restarts == 1)
        assert pool.check(*EQUIVALENT).verdict == Verdict.equivalent


def test_closing_cancels_unfinished_checks():
    pool = CheckPool(1)
    assert pool.limit_for({"timeout": 10.0}) == 45.0  # timeout + default fp_timeout + default grace, no cap
    assert pool.limit_for({"timeout": 10.0, "fp_timeout": 2.0}) == 17.0
    running = pool.submit(*HARD, HARD_OPTIONS)
    queued = pool.submit(*EQUIVALENT)
    wait_for(lambda: running.running())
    assert pool.queue_depth == 1 and pool.running == 1
    pool.close()
    assert queued.cancelled()
    with pytest.raises(concurrent.futures.CancelledError):
        running.result(timeout=10)
    assert pool.workers_alive == 0
    with pytest.raises(RuntimeError):
        pool.submit(*EQUIVALENT)


def _group_members(group: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group:  # pgrp
                members.append(int(entry))
    return members


def test_workers_do_not_outlive_a_killed_pool_owner():
    """SIGKILL the process holding the pool in the middle of a check: its workers, and the replay processes
    they started, must go too (their process groups end up empty)."""
    owner = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from verifier.pool import CheckPool\n"
        "pool = CheckPool(2)\n"
        f"pool.check({NOT_EQUIVALENT[0]!r}, {NOT_EQUIVALENT[1]!r})\n"
        f"pool.submit({HARD[0]!r}, {HARD[1]!r}, {HARD_OPTIONS!r})\n"
        "print(*pool.worker_pids(), flush=True)\n"
        "time.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    workers = [int(pid) for pid in owner.stdout.readline().split()]
    assert len(workers) == 2 and all(_group_members(pid) for pid in workers)
    time.sleep(0.5)  # one worker is deep in the hard check
    owner.kill()
    owner.wait()
    wait_for(lambda: not any(_group_members(pid) for pid in workers), timeout=10)
