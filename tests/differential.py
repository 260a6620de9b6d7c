"""Differential oracle: our Z3 semantics against unicorn on concrete states.

A snippet is assembled and lifted once; for each concrete initial state the solver pins every input
variable, our semantics predicts the exit, every register, NZCV and every stored byte
(`counterexample.predict`), and unicorn runs the same machine code from the same state. The comparison
is the one counterexample replay uses (`confirm.mismatches`), so the oracle and the product cannot
drift apart.

Snippets with calls (`bl sym`, `blr xN`) also need the callees' behaviour: a state lists, per call in
the order the calls happen, what that callee does (`replay.CallStub`: its clobbered registers, NZCV and
a few byte writes). Unicorn runs each call through that stub; our side gets the same choice by fixing
the uninterpreted functions of semantics/calls.py at that call's trace (`x0_after_call(trace) == ...`,
and `memory_after_call(trace)` = memory at the call with the stub's bytes written; see
`CalleesApplied`). The stub is written from AAPCS64 (`CALLER_SAVED_X` etc. below), not from the
model's own lists, so a model that keeps a register the callee may change, or changes one it must
keep, disagrees with unicorn. Each call's callee and arguments (x0-x8, v0-v7, sp as the callee saw
them) are compared too, both as the model reports them and as they enter its call trace (`compare`).
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from typing import Callable

import z3

from verifier.assemble import Program, assemble
from verifier.confirm import linked_for_replay, machine_state, mismatches
from verifier.counterexample import Prediction, predict
from verifier.equivalence import Summary, label_ids_for, summarize
from verifier.lift import lift
from verifier.replay import CALLEE_BASE, CallStub, RunOutcome, run
from verifier.semantics.execute import run_snippet
from verifier.semantics.state import GPR_NAMES, VREG_NAMES, InitialState
from verifier.symbols import address_names, address_variable
from verifier.text import clean

MASK64 = (1 << 64) - 1
DATA_BASE = 0x10_0000  # pointers in generated states point here
WINDOW = 160  # random initial bytes around each pointer

EDGE_64 = [
    0, 1, 2, 3, 31, 32, 63, 64, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000,
    0xFFFF_FFFF, 0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, MASK64, MASK64 - 1,
    0xFFFF_FFFF_8000_0000, 0x0000_0001_FFFF_FFFF,
]


@dataclass
class Compiled:
    program: Program
    initial: InitialState
    summary: Summary


def compile_snippet(text: str, unroll: int = 0) -> Compiled:
    program = assemble(clean(text))
    initial = InitialState.fresh()
    cfg = lift(program)
    for name in address_names(cfg.references):
        initial.symbols[name] = address_variable(name)
    exits = run_snippet(cfg, initial, unroll)
    return Compiled(program, initial, summarize(exits, label_ids_for(exits)))


@dataclass
class ConcreteState:
    registers: dict[str, int]  # x0..x30, sp, v0..v31
    nzcv: int
    memory: dict[int, int]
    symbols: dict[str, int] = field(default_factory=dict)  # symbol or `symbol@got` -> address
    calls: list[CallStub] = field(default_factory=list)  # what the callee of the 1st, 2nd, ... call does


def edge_or_random_64(rng: random.Random, edges: float, small: float) -> int:
    """An edge value (share `edges`), a byte (share `small`), or 64 random bits."""
    roll = rng.random()
    if roll < edges:
        return rng.choice(EDGE_64)
    if roll < edges + small:
        return rng.randrange(0, 256)
    return rng.getrandbits(64)


def random_state(rng: random.Random, pointers: dict[str, int] | None = None) -> ConcreteState:
    """Mostly edge values, some random ones; `pointers` pins registers (e.g. x1 to a data address) and
    asks for random initial bytes around them and sp; without pointers, memory reads as zero."""

    def value64() -> int:
        return edge_or_random_64(rng, edges=0.55, small=0.15)

    registers = {name: value64() for name in GPR_NAMES}
    registers["sp"] = DATA_BASE + 0x4000 + 16 * rng.randrange(0, 64)
    for name in VREG_NAMES:
        registers[name] = rng.getrandbits(128) if rng.random() < 0.8 else (value64() << 64 | value64())
    registers.update(pointers or {})
    memory: dict[int, int] = {}  # only for memory forms (they pin pointers): the bytes cost solver time
    for name in [*pointers, "sp"] if pointers else []:
        base = registers[name]
        if DATA_BASE <= base < DATA_BASE + 0x10000:
            for address in range(base - WINDOW, base + WINDOW):
                memory[address] = rng.getrandbits(8)
    return ConcreteState(registers, rng.randrange(16), memory)


def disagreements_over(form: str, make_state: Callable[[random.Random, int], ConcreteState], count: int,
                       unroll: int = 0) -> list[str]:
    """Compile `form` once and compare it on `count` states `make_state(rng, index)`; the generator is
    seeded from the form's text, so a failure reproduces exactly."""
    compiled = compile_snippet(form, unroll)
    rng = random.Random(zlib.crc32(form.encode()))
    problems: list[str] = []
    for index in range(count):
        problems += disagreements(compiled, make_state(rng, index))
    return problems


def disagreements(compiled: Compiled, state: ConcreteState) -> list[str]:
    """Where unicorn and our semantics disagree from `state` (empty list: they agree on everything)."""
    return compare(compiled, state)[0]


def compare(compiled: Compiled, state: ConcreteState) -> tuple[list[str], Prediction]:
    """The disagreements from `state`, and our prediction. Besides `confirm.mismatches` (exit,
    registers, NZCV, stored bytes, each call's callee and the arguments the model names), every call
    must name all the arguments the callee saw, and its trace must be `call_trace(the previous call's
    trace, callee, x0-x8, v0-v7, sp, memory)` with the values the callee saw (the trace is what the
    equivalence check compares)."""
    prediction, outcome, view = _run_both(compiled, state)
    problems = mismatches("snippet", prediction, outcome) + argument_mismatches(prediction, outcome)
    addresses = set(state.memory) | outcome.reads | outcome.writes
    addresses |= {address for callee in state.calls for address, _ in callee.memory_writes}
    return problems + view.trace_mismatches(outcome, addresses), prediction


def argument_mismatches(prediction: Prediction, outcome: RunOutcome) -> list[str]:
    """Calls whose predicted arguments are not all the callee saw (x0-x8, v0-v7, sp): `mismatches`
    compares the values of the arguments the model names, not whether it names them all."""
    found = []
    for number, (predicted, (_, arguments)) in enumerate(zip(prediction.calls, outcome.calls), start=1):
        if set(predicted.arguments) != set(arguments):
            missing = sorted(set(arguments) - set(predicted.arguments))
            extra = sorted(set(predicted.arguments) - set(arguments))
            found.append(f"snippet call {number}: arguments not predicted {missing}, predicted but not passed {extra}")
    return found


def run_both(compiled: Compiled, state: ConcreteState) -> tuple[Prediction, RunOutcome]:
    """Our prediction and unicorn's run of `compiled` from `state`."""
    return _run_both(compiled, state)[:2]


def _run_both(compiled: Compiled, state: ConcreteState) -> tuple[Prediction, RunOutcome, CalleesApplied]:
    pins = [variable == state.registers[name] for name, variable in compiled.initial.regs.items()]
    pins.append(compiled.initial.nzcv == state.nzcv)
    memory = z3.K(z3.BitVecSort(64), z3.BitVecVal(0, 8))
    for address, byte in state.memory.items():
        memory = z3.Store(memory, z3.BitVecVal(address, 64), z3.BitVecVal(byte, 8))
    pins.append(compiled.initial.memory == memory)
    pins += [variable == state.symbols[name] for name, variable in compiled.initial.symbols.items()]
    # Calls: the k-th call made is known once the callees of calls 1..k-1 are pinned (its path
    # condition and arguments depend on nothing else), so pin them one at a time, in order. A fresh
    # solver each time: Z3's incremental mode takes seconds over the initial memory's stores.
    view = CalleesApplied(None)
    while True:
        solver = z3.SolverFor("QF_AUFBV" if view.pinned else "QF_ABV")
        solver.add(*pins)
        assert solver.check() == z3.sat
        view.model = solver.model()
        made = [e for e in compiled.summary.final.calls if z3.is_true(view.eval(e.guard, model_completion=True))]
        if len(made) <= view.pinned:
            break
        number = view.pinned
        assert number < len(state.calls), f"call {number + 1} is made, but the state has no callee for it"
        pins += view.callee_does(made[number], state.calls[number])
    prediction = predict(view, compiled.summary)
    code, branches, pool = linked_for_replay(compiled.program, state.symbols)
    outcome = run(code, machine_state(state.registers, state.nzcv, state.memory), branches, call_stubs=state.calls,
                  pool=pool)
    return prediction, outcome, view


# ---------------------------------------------------------------------------------------------------
# Callees

# What AAPCS64 lets a callee change (written here, not taken from semantics/calls.py, which is under test).
CALLER_SAVED_X = [f"x{i}" for i in range(19)] + ["x30"]
CALLER_SAVED_V = [f"v{i}" for i in range(8)] + [f"v{i}" for i in range(16, 32)]
HIGH_HALF_SAVED_V = [f"v{i}" for i in range(8, 16)]  # only the high 64 bits; d8-d15 are callee-saved
CALL_ARGUMENTS = [f"x{i}" for i in range(9)] + [f"v{i}" for i in range(8)] + ["sp"]  # x8: a large result's address
CALLEE_SLOTS = 4  # callee addresses used in states: CALLEE_BASE + 4 * k for k < CALLEE_SLOTS

_BV64 = z3.BitVecSort(64)


def callee_address(rng: random.Random) -> int:
    """Where a callee may be in a replay: one of a few stub addresses (so two callees sometimes share one)."""
    return CALLEE_BASE + 4 * rng.randrange(CALLEE_SLOTS)


def _after_call(name: str, sort: z3.SortRef) -> z3.FuncDeclRef:
    """One of semantics/calls.py's uninterpreted functions (Z3 identifies them by name and sort)."""
    return z3.Function(f"{name}_after_call", _BV64, sort)


class CalleesApplied:
    """A model of the solver that pins the callees' registers, seen through the calls made so far.

    Z3 takes seconds to find a model where an array-valued function equals an array of a few hundred
    stored bytes, so the callee's memory is not pinned in the solver. Instead every term is evaluated
    with, for each pinned call in call order, its trace `call_trace(...)` replaced by a constant of its
    own (the trace is uninterpreted: distinct calls may have any distinct values; the constants keep
    later terms small) and `memory_after_call(that constant)` by the memory the stub leaves (memory at
    the call with the stub's bytes written); the solver pins only `x0_after_call(constant) == value`
    and the like. It stands in for the model in `counterexample.predict`, which only calls `eval`."""

    FIRST_TRACE = 0x7ACE_0000  # traces of pinned calls: FIRST_TRACE, FIRST_TRACE + 1, ... (never 0: no call)

    def __init__(self, model: z3.ModelRef | None):
        self.model = model
        self.replaced: list[tuple[z3.ExprRef, z3.ExprRef]] = []  # applied in order
        self.traces: list[z3.ExprRef] = []  # each pinned call's `call_trace(...)`, in call order
        self.memories: list[z3.ArrayRef] = []  # and the memory at that call

    def apply(self, term: z3.ExprRef) -> z3.ExprRef:
        for replaced in self.replaced:
            term = z3.substitute(term, replaced)
        return term

    @property
    def pinned(self) -> int:
        return len(self.traces)

    def eval(self, term: z3.ExprRef, model_completion: bool = False) -> z3.ExprRef:
        return self.model.eval(self.apply(term), model_completion=model_completion)

    def trace_mismatches(self, outcome: RunOutcome, addresses: set[int]) -> list[str]:
        """Calls whose trace is not `call_trace(previous trace, callee, x0-x8, v0-v7, sp, memory)` with
        the values unicorn's callee saw, and the memory at the call (which later loads check against
        unicorn) at `addresses`."""
        found = []
        for number, (trace, memory, (callee, arguments)) in enumerate(
                zip(self.traces, self.memories, outcome.calls), start=1):
            where = f"snippet call {number} trace"
            if trace.num_args() != 3 + len(CALL_ARGUMENTS):
                expected = ", ".join(["trace", "callee", *CALL_ARGUMENTS, "memory"])
                found.append(f"{where}: {trace.num_args()} arguments, not {expected}")
                continue
            value = lambda index: self.model.eval(trace.arg(index), model_completion=True).as_long()  # noqa: E731
            previous = self.FIRST_TRACE + number - 2 if number > 1 else 0
            if value(0) != previous:
                found.append(f"{where}: extends {value(0):#x}, not the previous call's trace {previous:#x}")
            if value(1) != callee:
                found.append(f"{where} callee: {value(1):#x}, unicorn {callee:#x}")
            for index, name in enumerate(CALL_ARGUMENTS, start=2):
                if value(index) != arguments[name]:
                    found.append(f"{where} {name}: {value(index):#x}, unicorn {arguments[name]:#x}")
            traced_memory = trace.arg(2 + len(CALL_ARGUMENTS))
            for address in sorted(addresses) if not traced_memory.eq(memory) else ():
                cell = z3.BitVecVal(address, 64)
                in_trace, at_call = (self.model.eval(z3.Select(m, cell), model_completion=True).as_long()
                                     for m in (traced_memory, memory))
                if in_trace != at_call:
                    found.append(f"{where} mem[{address:#x}]: {in_trace:#04x}, at the call {at_call:#04x}")
        return found

    def callee_does(self, event, stub: CallStub) -> list[z3.BoolRef]:
        """Make the callee of `event` (a semantics.calls.CallEvent, the next call made) do what `stub`
        does: its trace and memory from now on, and the constraints on its registers and NZCV (returned)."""
        # The call's `call_trace(...)` (earlier calls' traces are constants by now), looked for in
        # whatever the model made of the state after the call.
        found = (_application(self.apply(term), "call_trace")
                 for term in [event.memory_after, event.nzcv_after, *event.after.values()])
        applied = next((term for term in found if term is not None), None)
        assert applied is not None, "the state after the call is no function of a call trace"
        trace = z3.BitVecVal(self.FIRST_TRACE + self.pinned, 64)
        self.traces.append(applied)
        self.memories.append(self.apply(event.memory))
        memory = self.memories[-1]
        for address, byte in stub.memory_writes:
            memory = z3.Store(memory, z3.BitVecVal(address, 64), z3.BitVecVal(byte, 8))
        self.replaced += [(applied, trace), (_after_call("memory", memory.sort())(trace), memory)]
        pins = [_after_call(name, z3.BitVecSort(64 if name[0] == "x" else 128))(trace) == value
                for name, value in stub.registers_after.items()]
        pins += [_after_call(name + "_high", z3.BitVecSort(64))(trace) == high
                 for name, high in stub.high_halves.items()]
        pins.append(_after_call("nzcv", z3.BitVecSort(4))(trace) == stub.nzcv_after)
        return pins


def _application(term: z3.ExprRef, name: str) -> z3.ExprRef | None:
    """An application of the function `name` inside `term`, or None."""
    seen, stack = set(), [term]
    while stack:
        term = stack.pop()
        if term.get_id() in seen:
            continue
        seen.add(term.get_id())
        if z3.is_app(term) and term.decl().name() == name:
            return term
        stack.extend(term.children())
    return None


def random_callee(rng: random.Random, writes_near: list[int] = (), *, returns_zero: float = 0.25) -> CallStub:
    """A callee that sets every register AAPCS64 lets it change (x0 often to 0, so that a branch on the
    result goes both ways; the others mostly edge values), random NZCV, and writes 0-6 random bytes
    within 32 bytes of the addresses `writes_near` (none without them)."""

    def value64() -> int:
        return edge_or_random_64(rng, edges=0.4, small=0.2)

    registers = {name: value64() for name in CALLER_SAVED_X}
    if rng.random() < returns_zero:
        registers["x0"] = 0
    registers |= {name: rng.getrandbits(128) for name in CALLER_SAVED_V}
    high_halves = {name: value64() for name in HIGH_HALF_SAVED_V}
    writes = []
    if writes_near:
        for _ in range(rng.randrange(7)):
            writes.append(((rng.choice(list(writes_near)) + rng.randrange(-32, 32)) & MASK64, rng.getrandbits(8)))
    return CallStub(registers, rng.randrange(16), writes, high_halves)


def edge_callee(value: int, nzcv: int, writes: list[tuple[int, int]] = ()) -> CallStub:
    """A callee that sets every register it may change to `value` (v registers: `value` in both halves)."""
    registers = {name: value for name in CALLER_SAVED_X}
    registers |= {name: value << 64 | value for name in CALLER_SAVED_V}
    return CallStub(registers, nzcv, list(writes), {name: value for name in HIGH_HALF_SAVED_V})


def assert_not_equivalent(result, *locations: str):
    """Not equivalent, confirmed by the unicorn replay, differing at each of `locations` (prefixes,
    e.g. "mem[" for memory); returns the counterexample."""
    from verifier import Verdict

    assert result.verdict == Verdict.not_equivalent, result.reason
    cex = result.counterexample
    assert cex.confirmed, cex.replay_note
    found = [d.location for d in cex.differences]
    for location in locations:
        assert any(f.startswith(location) for f in found), (location, found)
    return cex
