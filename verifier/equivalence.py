"""The equivalence query: same arbitrary start, same exit, same observables — or a model that differs.

Both snippets start from one `InitialState` (shared free variables). Each snippet's exits are folded into
one summary: an exit code (fall-through, which external label, or indirect), the indirect target, and
the final state, each an ITE over the mutually exclusive exit guards. The solver looks for an initial
state under which the exits or any observable differ: `unsat` is the proof of equivalence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import z3

from .lift import Target
from .semantics.execute import ExitPath, merge_states
from .semantics.helpers import thunk_nzcv
from .semantics.state import GPR_NAMES, VREG_NAMES, InitialState, State

EXIT_END = 0
EXIT_INDIRECT = 0xFFFF

# ---------------------------------------------------------------------------------------------------
# Observables


@dataclass(frozen=True)
class Observable:
    """A part of the final state that must agree: the low `bits` of a register, NZCV, or memory."""

    name: str  # as the user wrote it: x0, w1, sp, v2, d8, flags, memory
    register: str | None  # underlying register (x0..x30, sp, v0..v31); None for nzcv / memory
    bits: int
    kind: Literal["register", "nzcv", "memory"] = "register"
    memory_from_sp: bool = False  # aapcs64: only memory at or above the exit sp counts

    def value(self, state: State) -> z3.BitVecRef:
        if self.kind == "nzcv":
            return thunk_nzcv(*(state.regs[f] for f in ("cc_op", "cc_dep1", "cc_dep2", "cc_ndep")))
        whole = state.regs[self.register]
        return whole if self.bits == whole.size() else z3.Extract(self.bits - 1, 0, whole)


_VIEW_BITS = {"x": 64, "w": 32, "v": 128, "q": 128, "d": 64, "s": 32, "h": 16, "b": 8}
_REGISTER_RE = re.compile(r"^(?P<view>[xwvqdshb])(?P<index>\d{1,2})$")


def parse_observable(name: str) -> Observable:
    """`x3`, `w3`, `sp`, `v0`/`q0`/`d0`/`s0`/`h0`/`b0`, `flags`/`nzcv`, `memory`/`mem`; ValueError otherwise."""
    key = name.strip().lower()
    if key in ("flags", "nzcv"):
        return Observable(key, None, 4, "nzcv")
    if key in ("memory", "mem"):
        return Observable(key, None, 8, "memory")
    if key in ("sp", "wsp"):
        return Observable(key, "sp", 64 if key == "sp" else 32)
    match = _REGISTER_RE.match(key)
    if match:
        view, index = match["view"], int(match["index"])
        limit = 31 if view in "xw" else 32
        if index < limit:
            register = f"x{index}" if view in "xw" else f"v{index}"
            return Observable(key, register, _VIEW_BITS[view])
    raise ValueError(
        f"unknown observable {name!r}: use x0-x30, w0-w30, sp, v0-v31 (or q/d/s/h/b views), flags, memory"
    )


def observables_for(live_out: list[str] | None, preset: str) -> list[Observable]:
    if live_out is not None:
        return [parse_observable(name) for name in live_out]
    if preset == "aapcs64":
        return (
            [parse_observable(n) for n in ["x0", "x1", "v0", "v1", "v2", "v3"]]
            + [parse_observable(f"x{i}") for i in range(19, 30)]
            + [parse_observable("sp")]
            + [parse_observable(f"d{i}") for i in range(8, 16)]
            + [Observable("memory", None, 8, "memory", memory_from_sp=True)]
        )
    if preset == "all":
        return (
            [parse_observable(n) for n in GPR_NAMES + ["sp", "nzcv"] + VREG_NAMES]
            + [parse_observable("memory")]
        )
    raise ValueError(f"unknown preset {preset!r}: use 'all' or 'aapcs64'")


# AAPCS64 describes a real call: sp is 16-byte aligned and the stack does not wrap around the address
# space, so memory just below sp (dead at exit: signal handlers may clobber it) never aliases memory above.
AAPCS64_STACK_FLOOR = 0x10000


def preconditions_for(preset: str, initial: InitialState) -> list[z3.BoolRef]:
    """Assumptions on the initial state that a preset makes (none for `all`)."""
    if preset == "aapcs64":
        sp = initial.regs["sp"]
        return [sp & 15 == 0, z3.UGE(sp, AAPCS64_STACK_FLOOR)]
    return []


# ---------------------------------------------------------------------------------------------------
# Summaries


@dataclass
class Summary:
    """A snippet's exits folded into single terms."""

    exits: list[ExitPath]
    exit_code: z3.BitVecRef  # 16 bits: EXIT_END, a label id, or EXIT_INDIRECT
    exit_target: z3.BitVecRef  # indirect target (0 unless the exit is indirect)
    final: State


def exit_code_of(target: Target, label_ids: dict[str, int]) -> int:
    if target.kind == "end":
        return EXIT_END
    if target.kind == "label":
        return label_ids[target.label]
    return EXIT_INDIRECT


def summarize(exits: list[ExitPath], label_ids: dict[str, int]) -> Summary:
    code = z3.BitVecVal(exit_code_of(exits[-1].target, label_ids), 16)
    target = exits[-1].target_value if exits[-1].target.kind == "indirect" else z3.BitVecVal(0, 64)
    for path in reversed(exits[:-1]):
        code = z3.If(path.guard, z3.BitVecVal(exit_code_of(path.target, label_ids), 16), code)
        if path.target.kind == "indirect":
            target = z3.If(path.guard, path.target_value, target)
    final = merge_states([(p.guard, p.state) for p in exits])
    return Summary(exits, code, target, final)


def label_ids_for(*exit_lists: list[ExitPath]) -> dict[str, int]:
    labels = sorted({p.target.label for exits in exit_lists for p in exits if p.target.kind == "label"})
    return {label: i + 1 for i, label in enumerate(labels)}


# ---------------------------------------------------------------------------------------------------
# The query


@dataclass
class Query:
    solver: z3.Solver
    source: Summary
    candidate: Summary
    observables: list[Observable]
    memory_witness: z3.BitVecRef  # an address where memories differ, when they do


def build_query(source_exits: list[ExitPath], candidate_exits: list[ExitPath],
                observables: list[Observable], timeout_ms: int,
                preconditions: list[z3.BoolRef] = ()) -> Query:
    labels = label_ids_for(source_exits, candidate_exits)
    source, candidate = summarize(source_exits, labels), summarize(candidate_exits, labels)
    witness = z3.BitVec("memory_witness", 64)

    same_exit = z3.And(
        source.exit_code == candidate.exit_code,
        z3.Implies(source.exit_code == EXIT_INDIRECT, source.exit_target == candidate.exit_target),
    )
    differences = [z3.Not(same_exit)]
    for observable in observables:
        if observable.kind == "memory":
            differs = z3.Select(source.final.memory, witness) != z3.Select(candidate.final.memory, witness)
            if observable.memory_from_sp:
                differs = z3.And(differs, z3.UGE(witness, source.final.regs["sp"]))
            differences.append(differs)
        else:
            differences.append(observable.value(source.final) != observable.value(candidate.final))

    solver = z3.SolverFor("QF_ABV")
    solver.set("timeout", max(1, timeout_ms))
    solver.add(*preconditions)
    solver.add(z3.Or(*differences))
    return Query(solver, source, candidate, observables, witness)
