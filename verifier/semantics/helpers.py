"""The `arm64g_*` helper calls VEX emits for condition flags, written from the Arm ARM, not from VEX.

VEX records the last flag-setting operation in a thunk (cc_op, dep1, dep2, ndep) and calls
`arm64g_calculate_condition(cond << 4 | cc_op, dep1, dep2, ndep)` where a condition is needed. We compute
NZCV from the thunk with the architecture's AddWithCarry, so a thunk means exactly the flags the
instruction would have set. The thunk's cc_op is usually a constant, but `ccmp`/`ccmn` make it an ITE of
constants and merges of paths can too: then we enumerate the constants it can be.

Only the helpers below are modelled; any other helper call is NotModelled.
"""

from __future__ import annotations

import z3

from ..errors import NotModelled

# ARM64G_CC_OP_* (the thunk's operation); ADD/SUB/ADC/SBC keep the operands, LOGIC keeps the result.
COPY, ADD32, ADD64, SUB32, SUB64, ADC32, ADC64, SBC32, SBC64, LOGIC32, LOGIC64 = range(11)
_ARITH = {
    ADD32: ("add", 32), ADD64: ("add", 64), SUB32: ("sub", 32), SUB64: ("sub", 64),
    ADC32: ("adc", 32), ADC64: ("adc", 64), SBC32: ("sbc", 32), SBC64: ("sbc", 64),
}


def add_with_carry(x: z3.BitVecRef, y: z3.BitVecRef, carry_in: z3.BitVecRef):
    """Arm ARM AddWithCarry: (N, Z, C, V) as 1-bit vectors for x + y + carry_in (carry_in: 1 bit)."""
    width = x.size()
    wide = z3.ZeroExt(1, x) + z3.ZeroExt(1, y) + z3.ZeroExt(width, carry_in)
    result = z3.Extract(width - 1, 0, wide)
    n = z3.Extract(width - 1, width - 1, result)
    z = z3.If(result == 0, z3.BitVecVal(1, 1), z3.BitVecVal(0, 1))
    c = z3.Extract(width, width, wide)
    # Signed overflow: both operands have the same sign and the result's sign differs.
    sx, sy = z3.Extract(width - 1, width - 1, x), z3.Extract(width - 1, width - 1, y)
    v = (~(sx ^ sy)) & (sx ^ n)
    return n, z, c, v


def _nzcv_for_op(op: int, dep1, dep2, ndep) -> z3.BitVecRef:
    """NZCV (4 bits, N high) denoted by a thunk whose cc_op is the constant `op`."""
    if op == COPY:
        return z3.Extract(31, 28, dep1)
    if op in (LOGIC32, LOGIC64):
        width = 32 if op == LOGIC32 else 64
        result = z3.Extract(width - 1, 0, dep1)
        n = z3.Extract(width - 1, width - 1, result)
        z = z3.If(result == 0, z3.BitVecVal(1, 1), z3.BitVecVal(0, 1))
        return z3.Concat(n, z, z3.BitVecVal(0, 2))
    if op in _ARITH:
        kind, width = _ARITH[op]
        x, y = z3.Extract(width - 1, 0, dep1), z3.Extract(width - 1, 0, dep2)
        old_carry = z3.Extract(0, 0, ndep)
        if kind == "add":
            flags = add_with_carry(x, y, z3.BitVecVal(0, 1))
        elif kind == "sub":
            flags = add_with_carry(x, ~y, z3.BitVecVal(1, 1))
        elif kind == "adc":
            flags = add_with_carry(x, y, old_carry)
        else:
            flags = add_with_carry(x, ~y, old_carry)
        return z3.Concat(*flags)
    raise NotModelled(f"flag thunk operation {op}")


def _constant_leaves(expr: z3.ExprRef) -> list[int] | None:
    """The constants an ITE tree of constants can evaluate to; None if a leaf is not constant."""
    expr = z3.simplify(expr)
    if z3.is_bv_value(expr):
        return [expr.as_long()]
    if z3.is_app_of(expr, z3.Z3_OP_ITE):
        left, right = _constant_leaves(expr.arg(1)), _constant_leaves(expr.arg(2))
        if left is None or right is None:
            return None
        return sorted(set(left) | set(right))
    return None


def thunk_nzcv(cc_op, dep1, dep2, ndep) -> z3.BitVecRef:
    """NZCV (4 bits) denoted by a thunk, for any cc_op that is an ITE tree of valid constants."""
    ops = _constant_leaves(cc_op)
    if ops is None:
        # Not a plain ITE tree (e.g. an Or over one): every value VEX ever puts is one of the 11 ops.
        ops = list(range(LOGIC64 + 1))
    if any(op > LOGIC64 for op in ops):
        raise NotModelled(f"flag thunk operation {max(ops)}")
    result = _nzcv_for_op(ops[-1], dep1, dep2, ndep)
    for op in ops[:-1]:
        result = z3.If(cc_op == op, _nzcv_for_op(op, dep1, dep2, ndep), result)
    return result


def condition_holds(cond: int, nzcv: z3.BitVecRef) -> z3.BoolRef:
    """Arm ARM ConditionHolds for a 4-bit condition code."""
    n, z, c, v = (z3.Extract(i, i, nzcv) == 1 for i in (3, 2, 1, 0))
    base = {
        0: z, 1: c, 2: n, 3: v,
        4: z3.And(c, z3.Not(z)),
        5: n == v,
        6: z3.And(n == v, z3.Not(z)),
        7: z3.BoolVal(True),
    }[cond >> 1]
    if cond & 1 and cond != 15:
        return z3.Not(base)
    return base


def _calculate_condition(cond_n_op, dep1, dep2, ndep) -> z3.BitVecRef:
    """arm64g_calculate_condition: 1 if the condition (bits 7..4) holds for the thunk (op in bits 3..0)."""
    conds = _constant_leaves(z3.Extract(7, 4, cond_n_op))
    if conds is None:
        conds = list(range(16))
    nzcv = thunk_nzcv(z3.ZeroExt(60, z3.Extract(3, 0, cond_n_op)), dep1, dep2, ndep)
    cond_field = z3.Extract(7, 4, cond_n_op)
    holds = condition_holds(conds[-1], nzcv)
    for cond in conds[:-1]:
        holds = z3.If(cond_field == cond, condition_holds(cond, nzcv), holds)
    return z3.If(holds, z3.BitVecVal(1, 64), z3.BitVecVal(0, 64))


def _calculate_flags_nzcv(cc_op, dep1, dep2, ndep) -> z3.BitVecRef:
    """arm64g_calculate_flags_nzcv: NZCV in bits 31..28 of a 64-bit value."""
    return z3.ZeroExt(32, z3.Concat(thunk_nzcv(cc_op, dep1, dep2, ndep), z3.BitVecVal(0, 28)))


def _calculate_flag_c(cc_op, dep1, dep2, ndep) -> z3.BitVecRef:
    """arm64g_calculate_flag_c: the carry flag in bit 0."""
    return z3.ZeroExt(63, z3.Extract(1, 1, thunk_nzcv(cc_op, dep1, dep2, ndep)))


HELPERS = {
    "arm64g_calculate_condition": _calculate_condition,
    "arm64g_calculate_flags_nzcv": _calculate_flags_nzcv,
    "arm64g_calculate_flag_c": _calculate_flag_c,
}


def call_helper(name: str, args: list[z3.BitVecRef]) -> z3.BitVecRef:
    helper = HELPERS.get(name)
    if helper is None:
        raise NotModelled(f"helper call {name}")
    return helper(*args)
