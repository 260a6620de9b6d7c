"""VEX IR operations (`Iop_*`) as Z3 bit-vector functions, decoded from the op's name.

VEX names carry their widths (`Add32`, `8Uto64`, `CmpLT64S`, `64HLto128`), so one pattern per family
covers every width and nothing is written once per op. Every value is a bit-vector, Ity_I1 included
(width 1). An op that no pattern matches raises NotModelled with its name: it must never be guessed.

Where VEX leaves a case undefined and the architecture does not (integer division by zero, which AArch64
defines as 0 and pyvex turns into a trap exit), the architecture wins.
"""

from __future__ import annotations

import re
from typing import Callable

import z3

from ..errors import NotModelled
from . import fp, vector
from .encodings import Meaning

# Floating-point values are kept as their IEEE bit patterns; FP operations (fp.py) convert to Z3's FP
# theory and back, handling NaN payloads on the bit patterns, where Z3 has a single NaN.
TYPE_BITS = {
    "Ity_I1": 1, "Ity_I8": 8, "Ity_I16": 16, "Ity_I32": 32, "Ity_I64": 64, "Ity_I128": 128, "Ity_V128": 128,
    "Ity_F16": 16, "Ity_F32": 32, "Ity_F64": 64,
}


def type_bits(ty: str) -> int:
    bits = TYPE_BITS.get(ty)
    if bits is None:
        raise NotModelled(f"VEX type {ty.removeprefix('Ity_')}")
    return bits


def _bool_to_bv(cond: z3.BoolRef) -> z3.BitVecRef:
    return z3.If(cond, z3.BitVecVal(1, 1), z3.BitVecVal(0, 1))


def _shift_amount(amount: z3.BitVecRef, width: int) -> z3.BitVecRef:
    """VEX shift amounts are I8; widen (or narrow, for I8 shifts) to the shifted value's width."""
    if z3.is_bv_value(amount):  # the common case: keep constants constant, later peepholes look for them
        return z3.BitVecVal(min(amount.as_long(), width), width)
    if amount.size() < width:
        return z3.ZeroExt(width - amount.size(), amount)
    if amount.size() > width:
        # An 8-bit value shifted by >= 8 is 0 (or all sign bits): keep the amount exact by saturating.
        return z3.If(z3.UGE(amount, width), z3.BitVecVal(width, width), z3.Extract(width - 1, 0, amount))
    return amount


def _shl(a, amount):
    """Left shift; by a constant it is written as a multiplication by 2^k so that the solver's
    sum-of-monomials normal form sees `x + (x << 1)` and `3 * x` as the same term."""
    amount = _shift_amount(amount, a.size())
    if z3.is_bv_value(amount) and amount.as_long() < a.size():
        return a * (1 << amount.as_long())
    return a << amount


def _zero_low_bits(term) -> int:
    """How many low bits of `term` are certainly 0 (a cheap syntactic look, 0 when unsure)."""
    if z3.is_bv_value(term):
        value = term.as_long()
        return term.size() if value == 0 else (value & -value).bit_length() - 1
    if z3.is_app_of(term, z3.Z3_OP_BMUL):
        return min(term.size(), sum(_zero_low_bits(arg) for arg in term.children()))
    if z3.is_app_of(term, z3.Z3_OP_CONCAT):
        low = term.children()[-1]
        return low.size() + _zero_low_bits(term.children()[-2]) if _zero_low_bits(low) == low.size() else _zero_low_bits(low)
    return 0


def _zero_high_bits(term) -> int:
    """How many high bits of `term` are certainly 0 (a cheap syntactic look, 0 when unsure)."""
    if z3.is_bv_value(term):
        return term.size() - term.as_long().bit_length()
    if z3.is_app_of(term, z3.Z3_OP_BLSHR) and z3.is_bv_value(term.arg(1)):
        return min(term.size(), term.arg(1).as_long())
    if z3.is_app_of(term, z3.Z3_OP_ZERO_EXT):
        return term.params()[0] + _zero_high_bits(term.arg(0))
    return 0


def _and(a, b):
    """Bitwise and. VEX writes lsl/lsr/ubfx as rotate-then-mask; when the mask only removes bits
    that are known to be zero, or a whole operand of the rotate's Or, drop it, so `lsl w0, w1, #2`
    stays the plain `w1 * 4` that the solver's normal form can compare with other rewrites."""
    if z3.is_bv_value(a):
        a, b = b, a
    if not z3.is_bv_value(b):
        return a & b
    mask, width = b.as_long(), a.size()
    ones_from = (mask & -mask).bit_length() - 1 if mask else width  # mask == ones in [k, width)?
    high_mask = mask == ((1 << width) - 1) ^ ((1 << ones_from) - 1)
    low_ones = mask.bit_length()  # mask == ones in [0, m)?
    low_mask = mask == (1 << low_ones) - 1
    if not (high_mask or low_mask):
        return a & b
    parts = a.children() if z3.is_app_of(a, z3.Z3_OP_BOR) else [a]
    if high_mask:
        kept = [p for p in parts if _zero_high_bits(p) < width - ones_from]  # others lie under the mask's zeros
        redundant = all(_zero_low_bits(p) >= ones_from for p in kept)
    else:
        kept = [p for p in parts if _zero_low_bits(p) < low_ones]
        redundant = all(_zero_high_bits(p) >= width - low_ones for p in kept)
    if not kept:
        return z3.BitVecVal(0, width)
    value = kept[0]
    for part in kept[1:]:
        value = value | part
    return value if redundant else value & b


def _udiv(a, b):
    return z3.If(b == 0, z3.BitVecVal(0, a.size()), z3.UDiv(a, b))


def _sdiv(a, b):
    # Z3's bvsdiv truncates toward zero and wraps INT_MIN / -1 to INT_MIN, as AArch64 SDIV does.
    return z3.If(b == 0, z3.BitVecVal(0, a.size()), a / b)


def _mull(signed: bool):
    def mull(a, b):
        width = a.size()
        ext = z3.SignExt if signed else z3.ZeroExt
        return ext(width, a) * ext(width, b)

    return mull


def _clz(a):
    width = a.size()
    result = z3.BitVecVal(width, width)
    for bit in range(width):  # the highest set bit wins, so it is applied last
        result = z3.If(z3.Extract(bit, bit, a) == 1, z3.BitVecVal(width - 1 - bit, width), result)
    return result


def _ctz(a):
    width = a.size()
    result = z3.BitVecVal(width, width)
    for bit in reversed(range(width)):  # the lowest set bit wins, so it is applied last
        result = z3.If(z3.Extract(bit, bit, a) == 1, z3.BitVecVal(bit, width), result)
    return result


_BINARY: dict[str, Callable] = {
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
    "And": lambda a, b: _and(a, b),
    "Or": lambda a, b: a | b,
    "Xor": lambda a, b: a ^ b,
    "Shl": lambda a, b: _shl(a, b),
    "Shr": lambda a, b: z3.LShR(a, _shift_amount(b, a.size())),
    "Sar": lambda a, b: a >> _shift_amount(b, a.size()),
    "CmpEQ": lambda a, b: _bool_to_bv(a == b),
    "CasCmpEQ": lambda a, b: _bool_to_bv(a == b),
    "ExpCmpNE": lambda a, b: _bool_to_bv(a != b),
    "CmpNE": lambda a, b: _bool_to_bv(a != b),
    "CasCmpNE": lambda a, b: _bool_to_bv(a != b),
    "CmpLTS": lambda a, b: _bool_to_bv(a < b),
    "CmpLTU": lambda a, b: _bool_to_bv(z3.ULT(a, b)),
    "CmpLES": lambda a, b: _bool_to_bv(a <= b),
    "CmpLEU": lambda a, b: _bool_to_bv(z3.ULE(a, b)),
    "DivU": _udiv,
    "DivS": _sdiv,
    "MullS": _mull(True),
    "MullU": _mull(False),
}

_UNARY: dict[str, Callable] = {
    "Not": lambda a: ~a,
    "Clz": _clz,
    "Ctz": _ctz,
    "CmpNEZ": lambda a: _bool_to_bv(a != 0),
}

# Vector ops that are plain bitwise operations on all 128 bits.
_V128 = {
    "Iop_AndV128": lambda a, b: a & b,
    "Iop_OrV128": lambda a, b: a | b,
    "Iop_XorV128": lambda a, b: a ^ b,
    "Iop_NotV128": lambda a: ~a,
    "Iop_64HLtoV128": lambda hi, lo: z3.Concat(hi, lo),
    "Iop_V128to64": lambda a: z3.Extract(63, 0, a),
    "Iop_V128HIto64": lambda a: z3.Extract(127, 64, a),
}

_ARITH_RE = re.compile(r"Iop_(?P<name>[A-Za-z]+?)(?P<bits>8|16|32|64)(?P<sign>[SU]?)$")
_CONVERT_RE = re.compile(r"Iop_(?P<src>1|8|16|32|64|128)(?P<how>U|S|HI|HL|)to(?P<dst>1|8|16|32|64|128)$")


def _convert(src: int, how: str, dst: int) -> Callable:
    if how == "U" and dst > src:
        return lambda a: z3.ZeroExt(dst - src, a)
    if how == "S" and dst > src:
        return lambda a: z3.SignExt(dst - src, a)
    if how == "" and dst < src:
        return lambda a: z3.Extract(dst - 1, 0, a)
    if how == "HI" and dst * 2 == src:
        return lambda a: z3.Extract(src - 1, dst, a)
    if how == "HL" and src * 2 == dst:
        return lambda hi, lo: z3.Concat(hi, lo)
    raise NotModelled(f"VEX op Iop_{src}{how}to{dst}")


def _decode(op: str, meaning: Meaning | None) -> Callable:
    if op in _V128:
        return _V128[op]
    match = _CONVERT_RE.match(op)
    if match:
        return _convert(int(match["src"]), match["how"], int(match["dst"]))
    match = _ARITH_RE.match(op)
    if match:
        family = match["name"] + match["sign"]
        if family in _BINARY:
            return _BINARY[family]
        if family in _UNARY:
            return _UNARY[family]
        if match["name"] == "Not" and match["bits"] == "1":
            return _UNARY["Not"]
    if op == "Iop_Not1":
        return _UNARY["Not"]
    lane_op = vector.decode(op) or fp.decode(op, meaning)  # SIMD lane ops (element size x lane count), then FP
    if lane_op is not None:
        return lane_op
    raise NotModelled(f"VEX op {op}")


_CACHE: dict[tuple[str, Meaning | None], Callable] = {}


def apply(op: str, args: list[z3.BitVecRef], meaning: Meaning | None = None) -> z3.BitVecRef:
    """Apply VEX op `op` (e.g. "Iop_Add64") to Z3 bit-vector arguments. `meaning`: what the instruction
    means where its ops do not say (encodings.py); only FP ops look at it."""
    fn = _CACHE.get((op, meaning))
    if fn is None:
        fn = _CACHE[(op, meaning)] = _decode(op, meaning)
    try:
        return fn(*args)
    except (TypeError, z3.Z3Exception) as exc:  # arity or width that the pattern does not fit
        raise NotModelled(f"VEX op {op} ({exc})") from exc
