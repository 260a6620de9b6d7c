"""The floating-point time budget: FP queries run under `fp_timeout`, the others under `timeout`.

Real assembler, real lifter, real Z3. The pairs were timed on the (shared, 2-core) development machine:

- HARD_FP, `x / y * y` against `x`: false (0 / 0 is a NaN), but bit-blasting a 64-bit division and a
  multiplication takes Z3 2-14 s to find a difference (`solve` in timings_ms);
- MEDIUM_FP, `x * 0.5` against `x / 2.0`: true, proved in 1.1-2.0 s.
"""

from __future__ import annotations

import time

import pytest

from verifier import Verdict, check
from verifier.equivalence import Budget, theories_of

HARD_FP = ("fdiv d0, d1, d2\nfmul d0, d0, d2", "fmov d0, d1")
MEDIUM_FP = ("fmov d3, #0.5\nfmul d0, d1, d3", "fmov d3, #2.0\nfdiv d0, d1, d3")


def test_a_hard_fp_query_out_of_its_budget_is_unknown_naming_the_fp_limit():
    started = time.monotonic()
    result = check(*HARD_FP, live_out=["d0"], fp_timeout=0.05, timeout=60)
    elapsed = time.monotonic() - started
    assert result.verdict == Verdict.unknown, result.reason
    assert result.reason.startswith("the floating-point query for d0 was not decided within the FP time limit "
                                    "of 0.05 s (fp_timeout"), result.reason
    assert result.counterexample is None
    assert result.options.fp_timeout == 0.05 and result.options.timeout == 60
    assert elapsed < 10  # the 60 s integer budget was not used for it


def test_timeout_does_not_cut_fp_queries():
    # Needs far more than 0.05 s of FP solving ...
    assert check(*MEDIUM_FP, live_out=["d0"], fp_timeout=0.05).verdict == Verdict.unknown
    # ... which `timeout` does not limit: the integer budget has run out before the query starts.
    result = check(*MEDIUM_FP, live_out=["d0"], timeout=0.05, fp_timeout=60)
    assert result.verdict == Verdict.equivalent, result.reason
    assert result.timings_ms["solve"] > 50


@pytest.mark.parametrize("source, candidate, verdict", [
    ("ldr x2, [x3]\nstr x0, [x1]", "str x0, [x1]\nldr x2, [x3]", Verdict.not_equivalent),
    ("eor x0, x1, x2\nand x3, x1, x2\nadd x0, x0, x3, lsl #1", "add x0, x1, x2\nand x3, x1, x2", Verdict.equivalent),
])
def test_integer_queries_ignore_the_fp_budget(source, candidate, verdict):
    result = check(source, candidate, fp_timeout=0.001)
    assert result.verdict == verdict, result.reason
    assert result.timings_ms["solve"] > 1  # real solver work, more than the whole FP budget
    assert result.counterexample is None or result.counterexample.confirmed


def test_an_exhausted_fp_budget_leaves_integer_queries_their_own():
    # d0 (floating point) cannot be decided in 0.05 s; the memory obligation, checked after it, is an
    # integer query under `timeout` and finds the real difference: a difference wins over an unknown.
    source = HARD_FP[0] + "\nstr x1, [x2]"
    candidate = HARD_FP[1] + "\nstr x1, [x3]"
    result = check(source, candidate, live_out=["d0", "memory"], fp_timeout=0.05)
    assert result.verdict == Verdict.not_equivalent, result.reason
    assert any(difference.location.startswith("mem[") for difference in result.counterexample.differences)
    assert result.counterexample.confirmed, result.counterexample.replay_note


def test_an_integer_timeout_still_names_the_integer_limit():
    # x*y == (x&y)*(x|y) + (x&~y)*(~x&y): true, beyond Z3 in half a second (see test_check.py).
    source = "mul x0, x1, x2"
    candidate = "and x3, x1, x2\norr x4, x1, x2\nmul x3, x3, x4\nbic x5, x1, x2\nbic x6, x2, x1\nmul x5, x5, x6\nadd x0, x3, x5"
    result = check(source, candidate, live_out=["x0"], timeout=0.5, fp_timeout=60)
    assert result.verdict == Verdict.unknown
    assert result.reason.startswith("the solver gave up on x0") and "time limit of 0.5 s" in result.reason
    assert "floating-point" not in result.reason


def test_when_both_budgets_run_out_the_reason_names_each():
    source = HARD_FP[0] + "\nmul x0, x1, x2"
    candidate = (HARD_FP[1] + "\nand x3, x1, x2\norr x4, x1, x2\nmul x3, x3, x4\nbic x5, x1, x2\nbic x6, x2, x1\n"
                 "mul x5, x5, x6\nadd x0, x3, x5")
    result = check(source, candidate, live_out=["x0", "d0"], timeout=0.5, fp_timeout=0.05)
    assert result.verdict == Verdict.unknown
    assert result.reason.startswith("the solver gave up on x0 ("), result.reason
    assert (") within the time limit of 0.5 s; the floating-point query for d0 was not decided within the FP time "
            "limit of 0.05 s (fp_timeout; solver: ") in result.reason, result.reason


@pytest.mark.parametrize("value", [0, -1, 3601, float("nan"), "soon"])
def test_a_bad_fp_timeout_is_a_value_error(value):
    with pytest.raises(ValueError, match="fp_timeout"):
        check("nop", "nop", fp_timeout=value)


def test_fp_timeout_defaults_to_30_seconds():
    assert check("nop", "nop").options.fp_timeout == 30


def test_fp_time_is_not_charged_to_the_integer_budget():
    budget = Budget(timeout=1.0, fp_timeout=5.0)
    integer_deadline = budget.deadline()
    with budget.spending(True):
        time.sleep(0.2)
    with budget.spending(False):
        time.sleep(0.1)
    assert budget.deadline() - integer_deadline == pytest.approx(budget.fp_spent) and budget.fp_spent >= 0.2
    assert budget.ms_left(True) <= 4800


def test_a_query_is_floating_point_when_a_term_has_fp_sort():
    import z3

    bits = z3.BitVec("bits", 64)
    as_double = z3.fpBVToFP(bits, z3.Float64())
    fp_compare = z3.fpToIEEEBV(z3.fpMul(z3.RNE(), as_double, as_double)) == bits  # bit-vectors outside
    assert theories_of([fp_compare]).floating_point and theories_of([fp_compare]).logic == "QF_ABVFP"
    assert not theories_of([bits * 3 == bits]).floating_point
    assert theories_of([bits * 3 == bits]).logic == "QF_ABV"
