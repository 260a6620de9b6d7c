"""Concrete probes (verifier/probe.py): FP differences at the edges found without the solver's search.

Real assembler, lifter and Z3. A probe only proposes a state; the solver confirms it, and replay
confirms the counterexample, so these tests check that probes find what they should, that the
verdicts they lead to are right, and that they never decide equivalence.
"""

from __future__ import annotations

import time

import pytest
import z3

from differential import assert_not_equivalent, compile_snippet
from verifier import Verdict, check
from verifier.equivalence import Budget, build_query, decide, observables_for
from verifier.lift import lift
from verifier.probe import find_difference, probe_states
from verifier.semantics.execute import run_snippet


def _decide(source: str, candidate: str, live_out: list[str] | None = None):
    source_program, candidate_program = compile_snippet(source), compile_snippet(candidate)
    initial = source_program.initial  # both snippets must share one initial state
    exits = [run_snippet(lift(p.program), initial) for p in (source_program, candidate_program)]
    query = build_query(*exits, observables_for(live_out, "all"))
    return query, decide(query, Budget(timeout=10, fp_timeout=30))


@pytest.mark.parametrize("source, candidate", [
    ("fmadd d0, d1, d2, d3", "fmul d4, d1, d2\nfadd d0, d3, d4"),  # two NaNs: the signalling one wins
    ("fnmadd d0, d1, d2, d3", "fmadd d0, d1, d2, d3\nfneg d0, d0"),  # a NaN's sign; -0 + +0
    ("fmin d0, d1, d2", "fmin d0, d2, d1"),
    ("fmla v0.2d, v1.2d, v2.2d", "fmul v3.2d, v1.2d, v2.2d\nfadd v0.2d, v0.2d, v3.2d"),
    ("fmax s0, s1, s2", "fmaxnm s0, s1, s2"),
])
def test_edge_differences_are_found_by_a_probe(source, candidate):
    _, decision = _decide(source, candidate, ["v0"])
    assert decision.outcome == z3.sat and decision.probed


def test_a_probed_difference_is_a_confirmed_counterexample():
    # Without probes Z3 needs tens of seconds to bit-blast this double-precision fused multiply-add.
    result = check("fmadd d0, d1, d2, d3", "fmul d4, d1, d2\nfadd d0, d3, d4", live_out=["v0"])
    cex = assert_not_equivalent(result, "v0")
    assert set(cex.inputs.registers) <= {"v1", "v2", "v3"}


@pytest.mark.parametrize("source, candidate, live_out", [
    ("fneg d0, d1\nfneg d0, d0", "fmov d0, d1", None),
    ("fcvtas x0, d1", "frinta d2, d1\nfcvtzs x0, d2", ["x0"]),
    ("fmsub d0, d1, d2, d3", "fneg d4, d1\nfmadd d0, d4, d2, d3", ["v0"]),
])
def test_probes_never_decide_equivalence(source, candidate, live_out):
    # Every probe state agrees here; the verdict comes from the solver's proof.
    result = check(source, candidate, live_out=live_out)
    assert result.verdict == Verdict.equivalent, result.reason


def test_a_difference_no_probe_state_shows_is_left_to_the_solver():
    # Rounding a 25-bit integer to single precision: the probe states' x registers are small.
    query, decision = _decide("scvtf s0, w1\nfcvtzs w0, s0", "scvtf s0, w1\nmov w0, w1", ["x0"])
    assert decision.outcome == z3.sat and not decision.probed


def test_no_probe_for_terms_with_uninterpreted_parts():
    x, f = z3.BitVec("x1", 64), z3.Function("x0_after_call", z3.BitVecSort(64), z3.BitVecSort(64))
    assert find_difference(f(x) != x, time.monotonic() + 5) is None


def test_the_pins_fix_every_input_of_the_obligation():
    d1, d2 = z3.BitVec("v1", 128), z3.BitVec("v2", 128)
    pins = find_difference(z3.Extract(63, 0, d1) != z3.Extract(63, 0, d2), time.monotonic() + 5)
    assert pins is not None and {str(p.arg(1)) for p in pins} == {"v1", "v2"}  # z3 puts the value first


def test_probe_states_are_fixed_and_mix_both_formats():
    first, again = probe_states(), probe_states()
    assert first == again and len(first) == 64
    nan32, nan64 = 0x7FC00000, 0x7FF8000000000000
    lanes32 = {state["v1"] & 0xFFFFFFFF for state in first[0::2]}
    lanes64 = {state["v1"] & (1 << 64) - 1 for state in first[1::2]}
    assert nan32 in lanes32 and nan64 in lanes64
