"""Calls inside a snippet (`bl sym`, `blr xN`): known answers through the whole pipeline.

The model (verifier/semantics/calls.py): a call is an observable event (callee, x0-x8, v0-v7, sp, memory);
afterwards the caller-saved state (x0-x18, x30, v0-v7, v16-v31, the high halves of v8-v15, NZCV, memory)
holds what the callee returned, the same in both snippets when they made the same calls. Every
`not_equivalent` here must be confirmed by unicorn, which runs the calls through stubs that do what the
counterexample says the callee did.
"""

from __future__ import annotations

import pytest

from tests.differential import assert_not_equivalent
from verifier import Verdict, check

EQUIVALENT = [
    ("bl foo", "bl foo"),
    # callee-saved registers survive the call: work on them may move across it
    ("bl foo\nadd x19, x19, #1\nmov x20, x21", "add x19, x19, #1\nmov x20, x21\nbl foo"),
    # caller-saved registers are clobbered by the call: setting them before it is dead code
    ("mov x9, #1\nmov x16, #2\nbl foo", "bl foo"),
    # the callee is an address: `bl foo` calls what `adr x16, foo; blr x16` calls (x16 is no argument,
    # and clobbered by the call)
    ("adr x16, foo\nblr x16", "bl foo"),
    ("adrp x16, foo\nadd x16, x16, :lo12:foo\nblr x16", "bl foo"),
    # the same argument computed differently
    ("mov x0, #3\nadd x0, x0, x0\nbl foo", "mov x0, #6\nbl foo"),
    # the result is the callee's, whatever the snippet did with x0 before
    ("bl foo\nadd x0, x0, #1\nbl bar", "bl foo\nadd x0, x0, #1\nbl bar"),
    ("stp x29, x30, [sp, #-16]!\nbl foo\nldp x29, x30, [sp], #16\nret",
     "stp x29, x30, [sp, #-16]!\nbl foo\nldp x29, x30, [sp], #16\nret"),
]


@pytest.mark.parametrize("source, candidate", EQUIVALENT)
def test_same_calls_are_equivalent(source, candidate):
    result = check(source, candidate)
    assert result.verdict == Verdict.equivalent, result.reason


def test_low_halves_of_v8_to_v15_survive_a_call():
    source, candidate = "bl foo\nfmov d8, #1.0", "fmov d8, #1.0\nbl foo"
    assert check(source, candidate, live_out=["d8", "x19"]).verdict == Verdict.equivalent
    assert_not_equivalent(check(source, candidate), "v8")  # the high half is the callee's


NOT_EQUIVALENT = [
    ("bl foo", "bl bar", "call 1 callee"),
    ("bl foo", "nop", "call 1"),
    ("nop", "bl foo", "call 1"),
    ("blr x3", "blr x4", "call 1 callee"),
    ("mov x0, #1\nbl foo", "mov x0, #2\nbl foo", "call 1 x0"),
    ("mov x7, #1\nbl foo", "bl foo", "call 1 x7"),
    ("mov x8, #1\nbl foo", "bl foo", "call 1 x8"),  # x8: where a large result goes
    ("fmov d1, #1.0\nbl foo", "bl foo", "call 1 v1"),
    ("add sp, sp, #16\nbl foo\nsub sp, sp, #16", "bl foo", "call 1 sp"),
    ("str x0, [sp]\nbl foo", "bl foo\nstr x0, [sp]", "call 1 mem["),  # the callee may read it
    ("bl foo\nbl bar", "bl bar\nbl foo", "call 1 callee"),
    ("bl foo\nadd x0, x0, #1\nbl foo", "bl foo\nadd x0, x0, #2\nbl foo", "call 2 x0"),
    ("bl foo\nmov x9, #1", "bl foo", "x9"),
    ("add x19, x9, #0\nbl foo", "bl foo\nadd x19, x9, #0", "x19"),  # x9 does not survive the call
    ("cmp x0, #0\ncset x19, eq\nbl foo", "cmp x0, #0\nbl foo\ncset x19, eq", "x19"),  # nor do the flags
    ("bl foo\nldr x19, [x20]", "ldr x19, [x20]\nbl foo", "x19"),  # nor memory
    ("adr x1, foo\nblr x1", "bl foo", "call 1 x1"),  # x1 is an argument: the callee may read it
]


@pytest.mark.parametrize("source, candidate, where", NOT_EQUIVALENT)
def test_different_calls_are_found_and_replayed(source, candidate, where):
    cex = assert_not_equivalent(check(source, candidate), where)
    assert cex.differences[0].location.startswith(where)


def test_the_counterexample_names_the_callee_and_its_address():
    cex = assert_not_equivalent(check("bl foo", "bl bar"), "call 1 callee")
    difference = cex.differences[0]
    assert difference.source.startswith("bl foo (0x") and difference.candidate.startswith("bl bar (0x")
    assert set(cex.inputs.symbols) == {"foo", "bar"}


def test_calls_are_compared_whatever_the_observables():
    result = check("mov x0, #1\nbl foo\nmov x0, #0", "mov x0, #2\nbl foo\nmov x0, #0", live_out=["x0"])
    assert_not_equivalent(result, "call 1 x0")


def test_a_call_in_a_loop_is_one_event_per_iteration():
    source = "mov x19, #3\n1: mov x0, x19\nbl foo\nsubs x19, x19, #1\nb.ne 1b"
    same = check(source, source)
    assert same.verdict == Verdict.equivalent, same.reason
    unrolled = "mov x0, #3\nbl foo\nmov x0, #2\nbl foo\nmov x0, #1\nbl foo\nmov x19, #0\ncmp x19, #0"
    assert check(source, unrolled).verdict == Verdict.equivalent
    wrong = "mov x0, #3\nbl foo\nmov x0, #1\nbl foo\nmov x0, #1\nbl foo\nmov x19, #0\ncmp x19, #0"
    assert_not_equivalent(check(source, wrong), "call 2 x0")


@pytest.mark.parametrize("candidate, what", [
    ("bl 1f\n1: nop", "call to a label inside the snippet"),
    ("bl foo+8", "offset into a function"),
])
def test_calls_we_do_not_model_are_unsupported(candidate, what):
    result = check("nop", candidate)
    assert result.verdict == Verdict.unsupported, result.reason
    assert what in result.unsupported[0].what and result.unsupported[0].line == 1
