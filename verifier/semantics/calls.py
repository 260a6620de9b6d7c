"""Calls (`bl sym`, `blr xN`) as observable events, and what the state holds after one.

A snippet cannot see into its callee, so the model assumes only what AAPCS64 promises:

- the callee reads its arguments from x0-x8 (x8: where a large result goes), v0-v7, sp and memory;
- it preserves x19-x29, sp and the low 64 bits of v8-v15, and returns to the instruction after the call;
- everything else it may change: x0-x18, x30, v0-v7, v16-v31, the high halves of v8-v15, NZCV, memory.

Each call extends the snippet's *call trace*, `trace' = call_trace(trace, callee, x0..x8, v0..v7, sp,
memory)`, an uninterpreted function, and every clobbered value after the call is an uninterpreted
function of `trace'`. Two snippets that make the same calls (same callee, same arguments, same memory)
in the same order therefore hold the same values afterwards, and nothing else is assumed about the
callee. The final traces must be equal, whatever the observables: a different callee, different
arguments or a different number or order of calls is a difference (the "calls" obligation).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import z3

from .state import CC_OP_COPY, State

ARGUMENT_REGISTERS = [f"x{i}" for i in range(9)] + [f"v{i}" for i in range(8)] + ["sp"]
CLOBBERED_X = [f"x{i}" for i in range(19)] + ["x30"]
CLOBBERED_V = [f"v{i}" for i in range(8)] + [f"v{i}" for i in range(16, 32)]
HIGH_HALF_CLOBBERED_V = [f"v{i}" for i in range(8, 16)]  # low 64 bits preserved (d8-d15)

_BV64 = z3.BitVecSort(64)
_MEMORY = z3.ArraySort(_BV64, z3.BitVecSort(8))

_CALL_TRACE = z3.Function(
    "call_trace", _BV64, _BV64,
    *[z3.BitVecSort(128 if name.startswith("v") else 64) for name in ARGUMENT_REGISTERS], _MEMORY, _BV64,
)


def _after(name: str, bits: int) -> z3.FuncDeclRef:
    return z3.Function(f"{name}_after_call", _BV64, z3.BitVecSort(bits))


_MEMORY_AFTER = z3.Function("memory_after_call", _BV64, _MEMORY)
REPLAY_WRITES = 8  # bytes a callee may write in a replayable counterexample
_event_numbers = itertools.count()
_NZCV_AFTER = z3.Function("nzcv_after_call", _BV64, z3.BitVecSort(4))


@dataclass
class CallEvent:
    """One call as it happens on some path: for counterexamples (which call differed) and replay
    (what the callee stub must do)."""

    guard: z3.BoolRef  # the path condition of the call
    offset: int  # of the call instruction
    callee: z3.BitVecRef  # the address called (a symbol's address for `bl sym`)
    arguments: dict[str, z3.BitVecRef]  # ARGUMENT_REGISTERS -> value at the call
    memory: z3.ArrayRef  # memory at the call
    after: dict[str, z3.BitVecRef]  # clobbered registers -> full value after the call
    nzcv_after: z3.BitVecRef
    memory_after: z3.ArrayRef
    # Free (address, byte) pairs, used only when a counterexample is made replayable: then memory after
    # the call must be memory before it with these bytes written, which a replay stub can do.
    replay_writes: list[tuple[z3.BitVecRef, z3.BitVecRef]] = field(default_factory=list)

    def memory_after_is_replayable(self) -> z3.BoolRef:
        memory = self.memory
        for address, byte in self.replay_writes:
            memory = z3.Store(memory, address, byte)
        return self.memory_after == memory


def call(state: State, guard: z3.BoolRef, callee: z3.BitVecRef, offset: int) -> State:
    """The state after calling `callee` from `state` (which the call itself has just left, x30 set);
    the event is appended to the state's calls."""
    arguments = {name: state.regs[name] for name in ARGUMENT_REGISTERS}
    trace = _CALL_TRACE(state.regs["trace"], callee, *arguments.values(), state.memory)
    after = state.copy()
    after.regs["trace"] = trace
    for name in CLOBBERED_X:
        after.regs[name] = _after(name, 64)(trace)
    for name in CLOBBERED_V:
        after.regs[name] = _after(name, 128)(trace)
    for name in HIGH_HALF_CLOBBERED_V:
        after.regs[name] = z3.Concat(_after(name + "_high", 64)(trace), z3.Extract(63, 0, state.regs[name]))
    nzcv = _NZCV_AFTER(trace)
    after.regs["cc_op"] = z3.BitVecVal(CC_OP_COPY, 64)
    after.regs["cc_dep1"] = z3.ZeroExt(32, z3.Concat(nzcv, z3.BitVecVal(0, 28)))
    after.regs["cc_dep2"] = z3.BitVecVal(0, 64)
    after.regs["cc_ndep"] = z3.BitVecVal(0, 64)
    after.memory = _MEMORY_AFTER(trace)
    registers_after = {name: after.regs[name] for name in CLOBBERED_X + CLOBBERED_V + HIGH_HALF_CLOBBERED_V}
    number = next(_event_numbers)
    replay_writes = [(z3.BitVec(f"call{number}_write{i}_address", 64), z3.BitVec(f"call{number}_write{i}_byte", 8))
                     for i in range(REPLAY_WRITES)]
    after.calls = after.calls + [
        CallEvent(guard, offset, callee, arguments, state.memory, registers_after, nzcv, after.memory, replay_writes)
    ]
    return after
