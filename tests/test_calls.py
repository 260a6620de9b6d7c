"""Calls inside a snippet (`bl sym`, `blr xN`): known answers through the whole pipeline, and the call
model against unicorn.

The model (verifier/semantics/calls.py): a call is an observable event (callee, x0-x8, v0-v7, sp, memory);
afterwards the caller-saved state (x0-x18, x30, v0-v7, v16-v31, the high halves of v8-v15, NZCV, memory)
holds what the callee returned, the same in both snippets when they made the same calls. Every
`not_equivalent` here must be confirmed by unicorn, which runs the calls through stubs that do what the
counterexample says the callee did.

Differential runs (tests/differential.py): snippets with calls (one and two calls, the same callee twice,
`blr`, every argument register, vector and x8/sp arguments, calls between loads and stores, callee-saved
reads, results and flags feeding branches, calls in loops, a whole function) from 16 concrete states
each, every state with its own choice of what each callee does (random or edge values in every register
AAPCS64 lets it change, NZCV, a few bytes written near the data): the same choice is given to unicorn's
callee stubs and fixed in our model. Exit, every register, NZCV, every stored byte, and each call's
callee and arguments (in the model's report and in its call trace) must agree.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, replace

import pytest

from tests.differential import (
    DATA_BASE,
    MASK64,
    ConcreteState,
    assert_not_equivalent,
    callee_address,
    compare,
    compile_snippet,
    disagreements,
    edge_callee,
    random_callee,
    random_state,
    run_both,
)
from verifier import Verdict, check
from verifier.confirm import mismatches

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


# ---------------------------------------------------------------------------------------------------
# The call model against unicorn (tests/differential.py): for each snippet, from several concrete
# states, each with a concrete choice of what every callee does (its clobbered registers, NZCV and a
# few byte writes: the same choice on both sides), our semantics and unicorn must agree on the exit,
# every register, NZCV, every stored byte and each call's callee and arguments (x0-x8, v0-v7, sp).


@dataclass(frozen=True)
class CallCase:
    form: str
    pointers: tuple[str, ...] = ()  # registers (or sp) pointing at initialised data; callees write near them and sp
    callee_registers: tuple[str, ...] = ()  # registers holding a callee's address (for blr)
    unroll: int = 0
    paths: int = 1  # distinct (exit, calls made) the states must reach between them

    def __str__(self) -> str:
        return self.form.replace("\n", "; ")


CALL_CASES = [
    CallCase("bl f"),
    CallCase("mov x0, x1\nbl f\nadd x0, x0, #1"),
    CallCase("bl f\nbl g"),
    CallCase("bl f\nmov x1, x0\nmov x0, x19\nbl f\nadd x0, x0, x1"),  # the same callee twice
    CallCase("blr x9", callee_registers=("x9",)),
    CallCase("mov x16, x9\nblr x16\nmov x1, x9\nmov x2, x16", callee_registers=("x9",)),  # both clobbered
    CallCase("adrp x16, f\nadd x16, x16, :lo12:f\nblr x16\nbl f"),
    # every argument register set just before the call
    CallCase("mov x0, x10\nmov x1, x11\nmov x2, x12\nmov x3, x13\nmov x4, x14\nmov x5, x15\nmov x6, x17\n"
             "mov x7, x18\nmov x8, x29\nblr x20", callee_registers=("x20",)),
    # vector arguments, and vector results (v0-v7, v16-v31 the callee's; d8-d15 kept, their high halves not)
    CallCase("mov v0.d[1], x1\nmovi v1.16b, #7\ndup v7.4s, w2\nbl f\nadd v2.2d, v0.2d, v8.2d\nmov x3, v7.d[1]\n"
             "mov x4, v9.d[1]\nmov x5, v15.d[0]"),
    # x8 points at a result the callee writes; sp moves before the call
    CallCase("sub sp, sp, #64\nadd x8, sp, #16\nstp x0, x1, [sp]\nbl f\nldp x2, x3, [sp, #16]\nldp x4, x5, [sp]\n"
             "add sp, sp, #64", pointers=("sp",)),
    # memory is an argument and the callee's writes are seen by later loads
    CallCase("str x1, [x20]\nstrb w2, [x21, #3]\nbl f\nldr x3, [x20]\nldr x4, [x21]\nstr x3, [x21, #8]\n"
             "ldr x5, [x20, #-8]\nldp q16, q17, [x21, #-32]\nldp q18, q19, [x21]", pointers=("x20", "x21")),
    CallCase("bl f\nstr x0, [x20]\nbl g\nldr x1, [x20]\nldr x2, [x20, #16]\nstr x0, [x20, #8]", pointers=("x20",)),
    CallCase("bl f\nstr q8, [x20]\nstp q16, q0, [x20, #32]\nldr q1, [x20, #-16]", pointers=("x20",)),
    # callee-saved registers (x19-x29, d8-d15) survive; x9-x18, x30 do not
    CallCase("bl f\nadd x0, x19, x29\neor x1, x20, x28\nfmov x2, d8\nmov x3, v15.d[0]\nmov x4, v9.d[1]\n"
             "mov x5, v16.d[0]\nadd x6, x9, x18\nmov x7, x30"),
    # the result feeds a branch
    CallCase("bl f\ncbz x0, 1f\nmov x19, x0\nbl g\nadd x0, x0, x19\n1: add x1, x0, #1", paths=2),
    CallCase("bl f\ncmp x0, #5\nb.lo .Lsmall\nmov x0, #0", paths=2),
    CallCase("tst x1, #1\nb.eq 1f\nbl f\nb 2f\n1: bl g\nmov x1, x0\n2: add x0, x0, #1", paths=2),
    # flags after a call are the callee's
    CallCase("cmp x1, x2\nbl f\ncset x0, eq\ncsel x1, x2, x3, mi\nadcs x4, x5, x6\nb.vs .Loverflow", paths=2),
    # calls in loops: one event per iteration
    CallCase("mov x19, #3\n1: mov x0, x19\nbl f\nsubs x19, x19, #1\nb.ne 1b", unroll=3),
    CallCase("mov x19, #0\n1: bl f\nadd x19, x19, #1\ncmp x19, #3\nb.hs 2f\ncbnz x0, 1b\n2: mov x1, x19",
             unroll=3, paths=2),
    # a whole function: frame, call, return through the saved x30
    CallCase("stp x29, x30, [sp, #-16]!\nmov x29, sp\nmov x19, x0\nbl f\nadd x0, x0, x19\n"
             "ldp x29, x30, [sp], #16\nret", pointers=("sp",)),
    CallCase("bl f\nb .Ldone"),
]
STATES_PER_CALL_CASE = 16
MAX_CALLS = 4  # callees per state: at least as many calls as any path makes


def call_state(case: CallCase, symbols: list[str], rng: random.Random, index: int) -> ConcreteState:
    """A random state (edge values, random vectors, random NZCV; data around the pointers and sp),
    callee addresses for the symbols and callee registers, and what each call's callee does: the
    first state's callees return all zeros, the second's all ones and write 0xff near the data; the
    others set random values and write a few random bytes near the pointers and sp."""
    pointers = {name: DATA_BASE + 0x1000 * (k + 1) + 8 * rng.randrange(32) for k, name in enumerate(case.pointers)}
    if "sp" in pointers:
        pointers["sp"] = DATA_BASE + 0x8000 + 16 * rng.randrange(64)
    pointers |= {name: callee_address(rng) for name in case.callee_registers}
    state = random_state(rng, pointers)
    state.symbols = {name: callee_address(rng) for name in symbols}
    sp = state.registers["sp"]
    near = [state.registers[name] for name in case.pointers if name != "sp"] + [sp, sp - 48]  # and a frame below sp
    if index == 0:
        state.calls = [edge_callee(0, 0) for _ in range(MAX_CALLS)]
    elif index == 1:
        state.calls = [edge_callee(MASK64, 0xF, [(a + d, 0xFF) for a in near for d in (-8, 0, 7, 16)])
                       for _ in range(MAX_CALLS)]
    else:
        state.calls = [random_callee(rng, near) for _ in range(MAX_CALLS)]
    return state


@pytest.mark.parametrize("case", CALL_CASES, ids=str)
def test_calls_agree_with_unicorn(case):
    compiled = compile_snippet(case.form, case.unroll)
    rng = random.Random(zlib.crc32(case.form.encode()))
    problems, paths = [], set()
    for index in range(STATES_PER_CALL_CASE):
        found, prediction = compare(compiled, call_state(case, sorted(compiled.initial.symbols), rng, index))
        problems += [f"state {index}: {p}" for p in found]
        paths.add((prediction.exit.describe(), tuple(call.offset for call in prediction.calls)))
    assert not problems, "\n".join(problems[:20])
    assert any(calls for _, calls in paths) and len(paths) >= case.paths, paths


def test_the_call_oracle_sees_a_callee_that_does_something_else():
    # The oracle is not vacuous: unicorn running another callee than the one our side is given (another
    # result, NZCV, high half of v8, or byte written) disagrees with our prediction.
    case = CallCase("str x1, [x20]\nbl f\nldr x2, [x20]\nmov x3, v8.d[1]", pointers=("x20",))
    compiled = compile_snippet(case.form)
    state = call_state(case, ["f"], random.Random(1), 2)
    assert disagreements(compiled, state) == []
    prediction, _ = run_both(compiled, state)
    stub = state.calls[0]
    for other in (replace(stub, registers_after=stub.registers_after | {"x0": stub.registers_after["x0"] ^ 1}),
                  replace(stub, nzcv_after=stub.nzcv_after ^ 8),
                  replace(stub, high_halves=stub.high_halves | {"v8": stub.high_halves["v8"] ^ 1}),
                  replace(stub, memory_writes=[*stub.memory_writes, (state.registers["x20"], 0x5A)])):
        _, outcome = run_both(compiled, replace(state, calls=[other]))
        assert mismatches("snippet", prediction, outcome), other
