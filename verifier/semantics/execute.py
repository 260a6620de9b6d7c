"""Symbolic execution of a snippet's control-flow graph: VEX statements -> Z3 terms, paths -> exits.

Blocks are visited in (loop iteration, offset) order, a topological order of the unrolled graph. The
states arriving at a block are merged with ITEs on their mutually exclusive path conditions, so the work
grows with the number of blocks, not the number of paths. Every way out of the snippet becomes an
`ExitPath`: the condition to take it, where it goes, and the machine state there.
"""

from __future__ import annotations

import heapq
import math
import struct
from dataclasses import dataclass

import pyvex
import z3

from ..errors import NotModelled
from ..lift import Block, ControlFlowGraph, LiteralLoad, SymbolConstant, Target
from ..symbols import address_variable as symbol_address
from . import calls, helpers, ops
from .encodings import Meaning
from .state import InitialState, MemoryAccess, State


@dataclass
class ExitPath:
    guard: z3.BoolRef  # path condition of this exit
    target: Target  # kind "end", "label", "indirect" or "bound"
    target_value: z3.BitVecRef  # the pc it jumps to (meaningful for "indirect")
    state: State


@dataclass
class Transfer:
    """A way out of one block: where to, under which condition, in which state."""

    target: Target
    guard: z3.BoolRef
    state: State
    target_value: z3.BitVecRef


def run_snippet(cfg: ControlFlowGraph, initial: InitialState, unroll: int = 0) -> list[ExitPath]:
    """All exits of the snippet from `initial`; guards are mutually exclusive and cover every input.

    Loops are unrolled: a block is visited once per (iteration, offset), where the iteration counts
    the backward branches taken. Forward branches keep the iteration and raise the offset, backward
    ones raise the iteration, so (iteration, offset) order is a topological order of the unrolled
    graph. A path that would take backward branch number `unroll + 1` ends in a "bound" exit.
    """
    if not cfg.blocks:  # no instructions: the snippet falls off its end at once
        return [ExitPath(z3.BoolVal(True), Target("end"), z3.BitVecVal(0, 64), initial.to_state())]
    arriving: dict[tuple[int, int], list[tuple[z3.BoolRef, State]]] = {(0, 0): [(z3.BoolVal(True), initial.to_state())]}
    queue = [(0, 0)]
    exits: list[ExitPath] = []
    while queue:
        iteration, start = heapq.heappop(queue)
        incoming = arriving.pop((iteration, start))
        guard = z3.Or(*[g for g, _ in incoming]) if len(incoming) > 1 else incoming[0][0]
        state = merge_states(incoming)
        for transfer in execute_block(cfg.blocks[start], state, guard):
            target = transfer.target
            if target.kind == "call":  # the callee returns to the next instruction (or past the end)
                callee = symbol_address(target.label) if target.label is not None else transfer.target_value
                after = calls.call(transfer.state, transfer.guard, callee, target.offset - 4)
                returns_to = Target("block", offset=target.offset) if target.offset < cfg.size else Target("end")
                transfer = Transfer(returns_to, transfer.guard, after, z3.BitVecVal(target.offset, 64))
                target = returns_to
            if target.kind != "block":
                exits.append(ExitPath(transfer.guard, target, transfer.target_value, transfer.state))
                continue
            key = (iteration + 1 if target.backward else iteration, target.offset)
            if key[0] > unroll:
                exits.append(ExitPath(transfer.guard, Target("bound"), transfer.target_value, transfer.state))
                continue
            if key not in arriving:
                arriving[key] = []
                heapq.heappush(queue, key)
            arriving[key].append((transfer.guard, transfer.state))
    return exits


def merge_states(incoming: list[tuple[z3.BoolRef, State]]) -> State:
    """One state equal to the i-th incoming state when the i-th (mutually exclusive) guard holds."""
    _, merged = incoming[-1]
    merged = merged.copy()
    for guard, state in reversed(incoming[:-1]):
        for name, value in state.regs.items():
            if not value.eq(merged.regs[name]):
                merged.regs[name] = z3.If(guard, value, merged.regs[name])
        if not state.memory.eq(merged.memory):
            merged.memory = z3.If(guard, state.memory, merged.memory)
        merged.accesses = _union(state.accesses, merged.accesses)
        merged.calls = _union(state.calls, merged.calls)
    return merged


def _union(a: list, b: list) -> list:
    seen = {id(x) for x in a}
    return a + [x for x in b if id(x) not in seen]


def execute_block(block: Block, state: State, guard: z3.BoolRef) -> list[Transfer]:
    """Run one IRSB from `state`; returns its transfers (conditional exits first, then the final jump)."""
    irsb = block.irsb
    temps: dict[int, z3.BitVecRef] = {}
    transfers: list[Transfer] = []
    current = block.start
    evaluator = _Evaluator(irsb, temps, state, block.symbol, block.meaning, block.literal)
    if block.fused is not None:  # VEX's IR for it is wrong (encodings.py): run the model instead
        try:
            block.fused.apply(state.regs)
        except NotModelled as exc:
            exc.offset = current if exc.offset is None else exc.offset
            raise
        return [Transfer(block.next_target, guard, state, evaluator.eval(irsb.next))]
    for index, stmt in enumerate(irsb.statements):
        evaluator.guard = guard
        try:
            if isinstance(stmt, pyvex.stmt.IMark):
                current = stmt.addr
                evaluator.instruction = current
            elif isinstance(stmt, (pyvex.stmt.NoOp, pyvex.stmt.AbiHint)):
                pass
            elif isinstance(stmt, pyvex.stmt.WrTmp):
                temps[stmt.tmp] = evaluator.eval(stmt.data)
            elif isinstance(stmt, pyvex.stmt.Put):
                state.put(stmt.offset, evaluator.eval(stmt.data))
            elif isinstance(stmt, pyvex.stmt.Store):
                _require_little_endian(stmt.end)
                address, value = evaluator.eval(stmt.addr), evaluator.eval(stmt.data)
                state.accesses.append(MemoryAccess("store", guard, address, value.size() // 8, current))
                state.store(address, value)
            elif isinstance(stmt, pyvex.stmt.Exit):
                target = block.exit_targets[index]
                if target is None:  # a trap the architecture does not have
                    continue
                taken = evaluator.eval(stmt.guard) == 1
                transfers.append(Transfer(target, z3.And(guard, taken), state.copy(), z3.BitVecVal(stmt.dst.value, 64)))
                guard = z3.And(guard, z3.Not(taken))
            else:
                raise NotModelled(f"VEX statement {type(stmt).__name__}")
        except NotModelled as exc:
            exc.offset = current if exc.offset is None else exc.offset
            raise
    try:
        next_value = evaluator.eval(irsb.next)
    except NotModelled as exc:
        exc.offset = current if exc.offset is None else exc.offset
        raise
    transfers.append(Transfer(block.next_target, guard, state, next_value))
    return transfers


def _require_little_endian(end: str) -> None:
    if end != "Iend_LE":
        raise NotModelled("big-endian memory access")


def _float_constant(value: float, bits: int) -> z3.BitVecRef:
    """The bit pattern of an F32/F64 constant (fcmp #0.0, fixed-point scales). pyvex hands it over as a
    Python float, which keeps every number exactly but may have lost a NaN's payload."""
    if math.isnan(value) or bits not in (32, 64):
        raise NotModelled("floating-point constant")
    return z3.BitVecVal(int.from_bytes(struct.pack("<f" if bits == 32 else "<d", value), "little"), bits)


class _Evaluator:
    """VEX expression -> Z3 term, reading temporaries, registers and memory of the current state."""

    def __init__(self, irsb: pyvex.IRSB, temps: dict[int, z3.BitVecRef], state: State,
                 symbol: SymbolConstant | None = None, meaning: Meaning | None = None,
                 literal: LiteralLoad | None = None):
        self.irsb = irsb
        self.symbol = symbol  # a relocated instruction: its field's constant stands for the linked value
        self.meaning = meaning  # an instruction whose FP ops need it (encodings.py)
        self.literal = literal  # a literal load of the snippet's own bytes: their value
        self.temps = temps
        self.state = state
        self.guard = z3.BoolVal(True)  # path condition of the statement being evaluated
        self.instruction = irsb.addr

    def eval(self, expr) -> z3.BitVecRef:
        if isinstance(expr, pyvex.expr.RdTmp):
            return self.temps[expr.tmp]
        if isinstance(expr, pyvex.expr.Const):
            if expr.con.type.startswith("Ity_F"):
                return _float_constant(expr.con.value, ops.type_bits(expr.con.type))
            bits = ops.type_bits(expr.con.type)
            if self.symbol is not None and expr.con.value == self.symbol.value and bits == self.symbol.bits:
                return self.symbol.reference.linked_constant(bits)  # lift.py checked it is the only one
            return z3.BitVecVal(expr.con.value, bits)
        if isinstance(expr, pyvex.expr.Get):
            return self.state.get(expr.offset, ops.type_bits(expr.ty))
        if isinstance(expr, (pyvex.expr.Unop, pyvex.expr.Binop, pyvex.expr.Triop, pyvex.expr.Qop)):
            return ops.apply(expr.op, [self.eval(arg) for arg in expr.args], self.meaning)
        if isinstance(expr, pyvex.expr.ITE):
            return z3.If(self.eval(expr.cond) == 1, self.eval(expr.iftrue), self.eval(expr.iffalse))
        if isinstance(expr, pyvex.expr.Load):
            _require_little_endian(expr.end)
            if self.literal is not None:  # lift.py checked that this is its one load, from that address
                if self.literal.symbol is not None:
                    return self.literal.symbol.linked_constant(64)
                return z3.BitVecVal(self.literal.value, self.literal.bits)
            address = self.eval(expr.addr)
            size = ops.type_bits(expr.ty) // 8
            self.state.accesses.append(MemoryAccess("load", self.guard, address, size, self.instruction))
            return self.state.load(address, size)
        if isinstance(expr, pyvex.expr.CCall):
            return helpers.call_helper(expr.cee.name, [self.eval(arg) for arg in expr.args])
        raise NotModelled(f"VEX expression {type(expr).__name__}")
