"""Concrete probes: try a floating-point obligation on a few edge-case states before the solver does.

Z3 decides an FP difference by bit-blasting every rounding in the query, which takes seconds (a fused
multiply-add in double precision: tens of seconds), while the differences LLM rewrites get wrong are
usually at the edges: a NaN operand (which NaN wins, its sign, quieting), ±0, 0 x inf, a tie. Each probe
state fixes every input to such values; the obligation then simplifies to a constant. A state where it
is `True` is a real difference, and the solver (given the state as equalities) only has to confirm it,
which takes milliseconds. Probes never prove anything: no hit means the solver decides as before.
"""

from __future__ import annotations

import random
import struct
import time

import z3

from .semantics.fp import FORMATS
from .terms import free_constants

# Lane values per format: NaNs of both kinds, signs and payloads, zeros, infinities, ties, the extremes.
_NUMBERS = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 0.5, 3.0, 1.5, -0.75, 1e10, -7.0, 2.0 ** -20, 65536.0]


def _lane_values(bits: int) -> tuple[list[int], list[int]]:
    """(NaNs and the other special values, ordinary numbers) of one format, as bit patterns."""
    fmt = FORMATS[bits]
    exponent_ones = ((1 << fmt.ebits) - 1) << (fmt.sbits - 1)
    nans = [exponent_ones | fmt.quiet_bit, exponent_ones | fmt.quiet_bit | 5 | fmt.sign_bit,
            exponent_ones | 1, exponent_ones | 0x2A | fmt.sign_bit]
    special = [exponent_ones, exponent_ones | fmt.sign_bit, 0, fmt.sign_bit, 1, exponent_ones - 1]
    packing = "<f" if bits == 32 else "<d"
    half_ulp = 2.0 ** -(fmt.sbits // 2 + 1)  # (1 + e)(1 - e) = 1 - e^2 needs twice the precision
    numbers = [int.from_bytes(struct.pack(packing, value), "little")
               for value in [*_NUMBERS, 1 + half_ulp, 1 - half_ulp, -1 - half_ulp]]
    return nans + special, numbers


def probe_states(count: int = 64) -> list[dict[str, int]]:
    """Input values by variable name: v registers laned as f32 (even states) or f64 (odd states), every
    lane drawn (seeded) from the edge values — in a quarter of the states only from the NaNs, in another
    only from NaNs, zeros and infinities, so that two operands are often both special; x registers
    small distinct addresses."""
    rng = random.Random(20261121)
    states = []
    for k in range(count):
        bits = 32 if k % 2 == 0 else 64
        special, numbers = _lane_values(bits)
        pool = [special[:4], special, special + numbers, special + numbers][k // 2 % 4]  # NaNs only, ...
        state = {f"v{i}": sum(rng.choice(pool) << (bits * lane) for lane in range(128 // bits)) for i in range(32)}
        state |= {f"x{i}": 0x100000 + 0x1000 * i for i in range(31)}
        state |= {"sp": 0x180000, "nzcv": k % 16, "qcflag": 0}
        states.append(state)
    return states


_STATES = probe_states()


def _pins(variables: list[z3.ExprRef], state: dict[str, int]) -> list[tuple[z3.ExprRef, z3.ExprRef]] | None:
    """A value for every variable (memory: all zero bytes), or None when one has no probe value."""
    pins = []
    for variable in variables:
        name, sort = variable.decl().name(), variable.sort()
        if isinstance(sort, z3.ArraySortRef):
            pins.append((variable, z3.K(sort.domain(), z3.BitVecVal(0, sort.range().size()))))
        elif isinstance(sort, z3.BitVecSortRef) and name in state:
            pins.append((variable, z3.BitVecVal(state[name], sort.size())))
        elif isinstance(sort, z3.BitVecSortRef) and name.startswith("&"):  # a symbol's address
            pins.append((variable, z3.BitVecVal(0x200000, sort.size())))
        else:
            return None  # an uninterpreted function's result, a witness, ...: not a concrete probe
    return pins


def find_difference(differs: z3.BoolRef, deadline: float) -> list[z3.BoolRef] | None:
    """Equalities pinning every input of `differs` to a probe state where it simplifies to True, or
    None (no probe state differs, or `deadline` passed)."""
    variables = free_constants([differs])
    for state in _STATES:
        if time.monotonic() > deadline:
            return None
        pins = _pins(variables, state)
        if pins is None:
            return None
        if z3.is_true(z3.simplify(z3.substitute(differs, *pins))):
            return [variable == value for variable, value in pins]
    return None
