"""Symbolic AArch64 machine state as VEX sees it: the guest registers by byte offset, and memory.

VEX addresses registers as byte ranges of one guest-state struct (x0 at 16, q0 at 320, ...) and reads or
writes any slice of them (a `w` write is a 64-bit Put of a zero-extended value; a `d` write puts the low
half of a q register). We keep one bit-vector per architectural register and slice into it, so
overlapping views stay consistent by construction.

NZCV is not a register in VEX: it is a *thunk* (cc_op, dep1, dep2, ndep) from which flags are computed
lazily. The thunk fields are kept like registers, and the initial state is the thunk "COPY of an
arbitrary NZCV". Observers must compare the flags the thunk denotes (`flags.nzcv`), never its fields.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import archinfo
import z3

from ..errors import NotModelled

ARCH = archinfo.ArchAArch64()

GPR_NAMES = [f"x{i}" for i in range(31)]
VREG_NAMES = [f"v{i}" for i in range(32)]
THUNK_NAMES = ["cc_op", "cc_dep1", "cc_dep2", "cc_ndep"]

# archinfo spells the stack pointer `xsp` and the vector registers `q0..q31`.
_ARCHINFO_NAME = {"sp": "xsp", **{f"v{i}": f"q{i}" for i in range(32)}}
_OUR_NAME = {v: k for k, v in _ARCHINFO_NAME.items()}

# Registers the state models. Anything else VEX touches (tpidr_el0, fpsr, ...) is NotModelled.
# `fpcr` is read-only here, fixed at the architecture's default (round to nearest, no flush-to-zero,
# no default NaN). `qcflag` (the sticky saturation flag, FPSR.QC) starts arbitrary and is not an
# observable, like the other FPSR bits.
MODELLED = GPR_NAMES + ["sp", "pc"] + THUNK_NAMES + VREG_NAMES + ["fpcr", "qcflag"]
DEFAULT_FPCR = 0


@dataclass(frozen=True)
class RegisterSlot:
    name: str  # our name: x0..x30, sp, pc, cc_*, v0..v31
    offset: int  # byte offset in VEX's guest state
    size: int  # bytes


def _layout() -> list[RegisterSlot]:
    slots = []
    for name in MODELLED:
        reg = ARCH.registers[_ARCHINFO_NAME.get(name, name)]
        slots.append(RegisterSlot(name, reg[0], reg[1]))
    return sorted(slots, key=lambda s: s.offset)


SLOTS = _layout()
_SLOT_STARTS = [s.offset for s in SLOTS]
SLOT_BY_NAME = {s.name: s for s in SLOTS}


def vex_register_name(offset: int) -> str:
    """archinfo's name for a guest-state offset, for messages about registers we do not model."""
    return ARCH.register_names.get(offset, f"guest-state offset {offset}")


def find_slot(offset: int, size: int) -> tuple[RegisterSlot, int]:
    """The modelled register holding bytes [offset, offset+size), and the byte offset inside it."""
    i = bisect.bisect_right(_SLOT_STARTS, offset) - 1
    if i >= 0:
        slot = SLOTS[i]
        inner = offset - slot.offset
        if inner + size <= slot.size:
            return slot, inner
    raise NotModelled(f"register {vex_register_name(offset)}")


# ARM64G_CC_OP_* values of VEX's flag thunk (libvex guest_arm64_defs.h).
CC_OP_COPY = 0


@dataclass
class MemoryAccess:
    """One load or store, kept so a counterexample can name the memory it read and replay can map it."""

    kind: str  # "load" | "store"
    guard: z3.BoolRef  # path condition under which the access happens
    address: z3.BitVecRef
    size: int  # bytes
    offset: int  # instruction offset in the snippet


@dataclass
class State:
    """Registers (full-width bit-vectors by our name) and memory (array: 64-bit address -> byte)."""

    regs: dict[str, z3.BitVecRef]  # also "trace": the calls made so far (semantics/calls.py)
    memory: z3.ArrayRef
    accesses: list[MemoryAccess] = field(default_factory=list)
    calls: list = field(default_factory=list)  # CallEvents, in the order they happen on each path

    def copy(self) -> "State":
        return State(dict(self.regs), self.memory, list(self.accesses), list(self.calls))

    # --- VEX-level access by offset -------------------------------------------------------------
    def get(self, offset: int, bits: int) -> z3.BitVecRef:
        slot, inner = find_slot(offset, bits // 8)
        whole = self.regs[slot.name]
        if inner == 0 and bits == slot.size * 8:
            return whole
        return z3.Extract(inner * 8 + bits - 1, inner * 8, whole)

    def put(self, offset: int, value: z3.BitVecRef) -> None:
        bits = value.size()
        slot, inner = find_slot(offset, bits // 8)
        if slot.name == "fpcr":
            raise NotModelled("write to FPCR (rounding mode and FP behaviour changes)")
        whole = self.regs[slot.name]
        lo, hi, width = inner * 8, inner * 8 + bits, slot.size * 8
        parts = []
        if hi < width:
            parts.append(z3.Extract(width - 1, hi, whole))
        parts.append(value)
        if lo > 0:
            parts.append(z3.Extract(lo - 1, 0, whole))
        self.regs[slot.name] = z3.simplify(z3.Concat(*parts)) if len(parts) > 1 else value

    # --- memory, little-endian --------------------------------------------------------------------
    def load(self, address: z3.BitVecRef, nbytes: int) -> z3.BitVecRef:
        byte_values = [z3.Select(self.memory, address + i) for i in range(nbytes)]
        return z3.Concat(*reversed(byte_values)) if nbytes > 1 else byte_values[0]

    def store(self, address: z3.BitVecRef, value: z3.BitVecRef) -> None:
        memory = self.memory
        for i in range(value.size() // 8):
            memory = z3.Store(memory, address + i, z3.Extract(8 * i + 7, 8 * i, value))
        self.memory = memory


@dataclass(frozen=True)
class InitialState:
    """The shared arbitrary starting point of both snippets: one free variable per architectural input."""

    regs: dict[str, z3.BitVecRef]  # x0..x30, sp, v0..v31
    nzcv: z3.BitVecRef  # 4 bits, N in bit 3
    memory: z3.ArrayRef
    qcflag: z3.BitVecRef  # 128 bits, VEX's sticky saturation flag
    # symbol (or `symbol@got`, its GOT entry) -> its free address; filled in by whoever lifts the snippets
    symbols: dict[str, z3.BitVecRef] = field(default_factory=dict)

    @staticmethod
    def fresh() -> "InitialState":
        regs = {name: z3.BitVec(name, 64) for name in GPR_NAMES + ["sp"]}
        regs.update({name: z3.BitVec(name, 128) for name in VREG_NAMES})
        memory = z3.Array("mem", z3.BitVecSort(64), z3.BitVecSort(8))
        return InitialState(regs, z3.BitVec("nzcv", 4), memory, z3.BitVec("qcflag", 128))

    def to_state(self) -> State:
        regs = dict(self.regs)
        regs["pc"] = z3.BitVecVal(0, 64)
        # Flags start as the thunk "COPY": dep1 holds NZCV in bits 31..28.
        regs["cc_op"] = z3.BitVecVal(CC_OP_COPY, 64)
        regs["cc_dep1"] = z3.ZeroExt(32, z3.Concat(self.nzcv, z3.BitVecVal(0, 28)))
        regs["cc_dep2"] = z3.BitVecVal(0, 64)
        regs["cc_ndep"] = z3.BitVecVal(0, 64)
        regs["fpcr"] = z3.BitVecVal(DEFAULT_FPCR, 32)
        regs["qcflag"] = self.qcflag
        regs["trace"] = z3.BitVecVal(0, 64)  # no call made yet
        return State(regs, self.memory)
