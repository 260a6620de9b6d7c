"""Differential oracle: our Z3 semantics against unicorn on concrete states.

A snippet is assembled and lifted once; for each concrete initial state the solver pins every input
variable, our semantics predicts the exit, every register, NZCV and every stored byte
(`counterexample.predict`), and unicorn runs the same machine code from the same state. The comparison
is the one counterexample replay uses (`confirm.mismatches`), so the oracle and the product cannot
drift apart.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from typing import Callable

import z3

from verifier.assemble import Program, assemble
from verifier.confirm import linked_for_replay, machine_state, mismatches
from verifier.counterexample import predict
from verifier.equivalence import Summary, label_ids_for, summarize
from verifier.lift import lift
from verifier.replay import run
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


def random_state(rng: random.Random, pointers: dict[str, int] | None = None) -> ConcreteState:
    """Mostly edge values, some random ones; `pointers` pins registers (e.g. x1 to a data address) and
    asks for random initial bytes around them and sp; without pointers, memory reads as zero."""

    def value64() -> int:
        roll = rng.random()
        if roll < 0.55:
            return rng.choice(EDGE_64)
        if roll < 0.7:
            return rng.randrange(0, 256)
        return rng.getrandbits(64)

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
    solver = z3.SolverFor("QF_ABV")
    for name, variable in compiled.initial.regs.items():
        solver.add(variable == state.registers[name])
    solver.add(compiled.initial.nzcv == state.nzcv)
    memory = z3.K(z3.BitVecSort(64), z3.BitVecVal(0, 8))
    for address, byte in state.memory.items():
        memory = z3.Store(memory, z3.BitVecVal(address, 64), z3.BitVecVal(byte, 8))
    solver.add(compiled.initial.memory == memory)
    for name, variable in compiled.initial.symbols.items():
        solver.add(variable == state.symbols[name])
    assert solver.check() == z3.sat
    prediction = predict(solver.model(), compiled.summary)
    code, branches = linked_for_replay(compiled.program, state.symbols)
    outcome = run(code, machine_state(state.registers, state.nzcv, state.memory), branches)
    return mismatches("snippet", prediction, outcome)


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
