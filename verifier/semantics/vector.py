"""SIMD operations (`Iop_Add32x4`, `Iop_CmpGT8Sx16`, `Iop_CatOddLanes16x8`, ...), decoded from the op's name.

A V128 is one 128-bit bit-vector with lane 0 in its least significant bits, as in VEX. Most vector op
names read `Iop_<family><lane bits><S|U|>x<lane count>`: `Max32Sx4` is a signed maximum on each of four
32-bit lanes. Such an op is split into lanes with Extract, the family's scalar function is applied to each
lane (or the lanes are rearranged), and the result is Concat-ed back. The few whole-register ops the
AArch64 front end uses to build lane shuffles (`SliceV128`, `ZeroHI64ofV128`, ...) are listed at the end.

Every meaning here is the one libvex_ir.h gives the op. The families listed are the integer ones the
AArch64 front end (guest_arm64_toIR.c) emits, on 128-bit vectors; `decode` returns None for anything else,
which ops.py turns into NotModelled. Floating-point lanes (`Add32Fx4`) have an `F` where the signedness
goes, and so match nothing here.

Saturating ops (`QAdd`, `QNarrowUn`, `QShlNsat`, `QDMulHi`, ...) compute the exact integer result in a
bit-vector wide enough to hold it and then clamp it to the lane's range. The front end derives the QC flag
(`qcflag`) from them by comparing the saturated result with a wrapped one, except for the `Qand...` ops,
which return the flag themselves: one bit, set when any lane saturated, in the least significant bit of
the half above the result (the upper V128 of a V256, or the upper 64 bits of a narrowing shift's V128).

Where VEX leaves a case undefined (a lane shift by at least the lane width, a slice past 16 bytes, a
non-constant amount where the front end only ever gives constants) the function raises NotModelled
rather than pick a meaning.
"""

from __future__ import annotations

import re
from typing import Callable

import z3

from ..errors import NotModelled

V128_BITS = 128


# --- splitting a bit-vector into lanes and back ------------------------------------------------------

def _sized(value: z3.BitVecRef, bits: int) -> z3.BitVecRef:
    """`value`, which must have `bits` bits: an operand of another width is an op we do not know."""
    if value.size() != bits:
        raise NotModelled(f"{value.size()}-bit operand where {bits} bits were expected")
    return value


def _lanes(value: z3.BitVecRef, bits: int, count: int) -> list[z3.BitVecRef]:
    """The `count` lanes of `bits` bits of `value`, lane 0 (least significant) first."""
    value = _sized(value, bits * count)
    return [z3.Extract(bits * i + bits - 1, bits * i, value) for i in range(count)]


def _join(lanes: list[z3.BitVecRef]) -> z3.BitVecRef:
    """Inverse of `_lanes`: lane 0 ends up in the least significant bits."""
    return z3.Concat(*reversed(lanes)) if len(lanes) > 1 else lanes[0]


def _mask(condition: z3.BoolRef, bits: int) -> z3.BitVecRef:
    """VEX comparisons give all ones in a lane where they hold, zero elsewhere."""
    return z3.If(condition, z3.BitVecVal(-1, bits), z3.BitVecVal(0, bits))


def _constant(value: z3.BitVecRef, limit: int, what: str) -> int:
    """The value of a constant operand below `limit`; VEX defines nothing else for these operands."""
    value = z3.simplify(value)
    if not z3.is_bv_value(value) or value.as_long() >= limit:
        raise NotModelled(f"{what} {value} (only constants below {limit} are defined)")
    return value.as_long()


# --- scalar functions applied to each lane -----------------------------------------------------------

def _count_leading_zeros(x: z3.BitVecRef) -> z3.BitVecRef:
    width = x.size()
    result = z3.BitVecVal(width, width)
    for bit in range(width):  # the highest set bit wins, so it is applied last
        result = z3.If(z3.Extract(bit, bit, x) == 1, z3.BitVecVal(width - 1 - bit, width), result)
    return result


def _count_leading_sign_bits(x: z3.BitVecRef) -> z3.BitVecRef:
    """Bits below the sign bit that equal it: x ^ (x >>s 1) has a 0 for each, then a 1."""
    return _count_leading_zeros(x ^ (x >> 1)) - 1


def _count_ones(x: z3.BitVecRef) -> z3.BitVecRef:
    width = x.size()
    return z3.Sum([z3.ZeroExt(width - 1, z3.Extract(bit, bit, x)) for bit in range(width)])


def _carryless_product(a: z3.BitVecRef, b: z3.BitVecRef, bits: int) -> z3.BitVecRef:
    """The low `bits` bits of the polynomial product over GF(2) (PMUL, PMULL): XOR instead of add."""
    a = z3.ZeroExt(bits - a.size(), a) if bits > a.size() else a
    product = z3.BitVecVal(0, bits)
    for bit in range(b.size()):
        product = product ^ z3.If(z3.Extract(bit, bit, b) == 1, a << bit, z3.BitVecVal(0, bits))
    return product


def _shift_by_signed_byte(rounding: bool, signed: bool) -> Callable:
    """`Sh` / `Rsh`: shift each lane of the first operand by the signed low byte of the second's lane.

    Positive amounts shift left, and a shift by the lane width or more gives 0. Negative amounts shift
    right, arithmetically for S (so a long shift gives 0 or all sign bits). The rounding variant adds
    2^(n-1) before shifting right by n, as if in infinite precision (AArch64 SRSHL/URSHL): one extra bit
    keeps the carry, and a shift by more than the lane width rounds everything to 0.
    """

    def shift(x, amount):
        width = x.size()
        byte = z3.Extract(7, 0, amount)
        left, right = byte, -byte  # both read as unsigned bytes; -(-128) is 0x80 = 128

        def lane_amount(n):  # the unsigned byte n at the lane's width, exact whenever n < width
            return z3.ZeroExt(width - 8, n) if width > 8 else n

        shifted_left = z3.If(z3.UGE(left, width), z3.BitVecVal(0, width), x << lane_amount(left))
        if rounding:
            wide = (z3.SignExt if signed else z3.ZeroExt)(1, x)
            n = z3.ZeroExt(width + 1 - 8, right)
            biased = wide + (z3.BitVecVal(1, width + 1) << (n - 1))
            rounded = z3.Extract(width - 1, 0, biased >> n if signed else z3.LShR(biased, n))
            shifted_right = z3.If(z3.UGT(right, width), z3.BitVecVal(0, width), rounded)
        elif signed:
            shifted_right = x >> z3.If(z3.UGE(right, width), z3.BitVecVal(width - 1, width), lane_amount(right))
        else:
            shifted_right = z3.If(z3.UGE(right, width), z3.BitVecVal(0, width), z3.LShR(x, lane_amount(right)))
        return z3.If(byte >= 0, shifted_left, shifted_right)

    return shift


# --- saturation ---------------------------------------------------------------------------------------

def _extend(x: z3.BitVecRef, signed: bool, bits: int) -> z3.BitVecRef:
    """`x` as the same integer in `bits` bits."""
    return (z3.SignExt if signed else z3.ZeroExt)(bits - x.size(), x)


def _saturate(value: z3.BitVecRef, bits: int, signed: bool) -> tuple[z3.BitVecRef, z3.BoolRef]:
    """Clamp `value`, read as a signed integer, to the range of a `bits`-bit lane; also whether it was
    clamped. The caller leaves `value` room for the exact result and a sign bit above it."""
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    width = value.size()
    too_high, too_low = value > z3.BitVecVal(high, width), value < z3.BitVecVal(low, width)
    lane = z3.If(too_high, z3.BitVecVal(high, bits),
                 z3.If(too_low, z3.BitVecVal(low, bits), z3.Extract(bits - 1, 0, value)))
    return lane, z3.Or(too_high, too_low)


def _saturating_sum(left_signed: bool, right_signed: bool, negate_right: bool, signed: bool) -> Callable:
    """`QAdd`, `QSub` and the mixed-signedness `QAddExt<left><right>sat<result>` (SUQADD, USQADD)."""

    def combine(a, b):
        width = a.size() + 2
        a, b = _extend(a, left_signed, width), _extend(b, right_signed, width)
        return _saturate(a - b if negate_right else a + b, width - 2, signed)[0]

    return combine


def _doubling_multiply_high(rounding: bool) -> Callable:
    """`QDMulHi` / `QRDMulHi` (SQDMULH, SQRDMULH): the high half of 2ab (+ 2^(w-1) when rounding),
    saturated; only INT_MIN * INT_MIN overflows."""

    def multiply(a, b):
        bits = a.size()
        product = _extend(a, True, 2 * bits + 2) * _extend(b, True, 2 * bits + 2) * 2
        if rounding:
            product = product + (1 << (bits - 1))
        return _saturate(product >> bits, bits, True)[0]

    return multiply


def _doubling_multiply_long(a: z3.BitVecRef, b: z3.BitVecRef) -> z3.BitVecRef:
    """`QDMull` (SQDMULL): 2ab in twice the lane width, saturated."""
    bits = a.size()
    return _saturate(_extend(a, True, 2 * bits + 2) * _extend(b, True, 2 * bits + 2) * 2, 2 * bits, True)[0]


def _shift_left_saturating(x, amount, in_signed: bool, out_signed: bool) -> tuple[z3.BitVecRef, z3.BoolRef]:
    """x << amount (a lane-wide unsigned amount), saturated; also whether it saturated.

    The shift is exact iff shifting back (arithmetically for a signed result) gives x again. That also
    holds for amounts of the lane width or more, where the shifted value is 0: exactly x == 0 survives.
    A negative input to an unsigned result (SQSHLU) always saturates, to 0.
    """
    width = x.size()
    shifted = x << amount
    back = shifted >> amount if out_signed else z3.LShR(shifted, amount)
    saturated = back != x
    if in_signed and not out_signed:
        saturated = z3.Or(x < 0, saturated)
    low, high = (1 << (width - 1), (1 << (width - 1)) - 1) if out_signed else (0, (1 << width) - 1)
    limit = z3.BitVecVal(high, width)
    if in_signed:
        limit = z3.If(x < 0, z3.BitVecVal(low, width), limit)
    return z3.If(saturated, limit, shifted), saturated


def _saturating_shift_by_signed_byte(rounding: bool, signed: bool) -> Callable:
    """`Qand[S|U]Q[R]sh` (SQSHL, UQSHL, SQRSHL, UQRSHL by register): `Sh` / `Rsh` with the left shifts
    saturated. A right shift (rounding or not) never leaves the lane's range, so only left shifts can
    saturate; the signed right shift is arithmetic, as the Arm ARM's integer `>>` is."""
    plain = _shift_by_signed_byte(rounding, signed)

    def shift(x, amount):
        width = x.size()
        byte = z3.Extract(7, 0, amount)
        left = z3.ZeroExt(width - 8, byte) if width > 8 else byte  # exact when byte >= 0
        saturating, saturated = _shift_left_saturating(x, left, signed, signed)
        saturated = z3.And(byte >= 0, saturated)
        return z3.If(saturated, saturating, plain(x, amount)), saturated

    return shift


# Lane-wise (V128, V128) -> V128, keyed by family + signedness letter.
_LANEWISE_BINARY: dict[str, Callable] = {
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
    "PolynomialMul": lambda a, b: _carryless_product(a, b, a.size()),
    "MaxS": lambda a, b: z3.If(a > b, a, b),
    "MaxU": lambda a, b: z3.If(z3.UGT(a, b), a, b),
    "MinS": lambda a, b: z3.If(a < b, a, b),
    "MinU": lambda a, b: z3.If(z3.ULT(a, b), a, b),
    "CmpEQ": lambda a, b: _mask(a == b, a.size()),
    "CmpGTS": lambda a, b: _mask(a > b, a.size()),
    "CmpGTU": lambda a, b: _mask(z3.UGT(a, b), a.size()),
    "ShS": _shift_by_signed_byte(rounding=False, signed=True),
    "ShU": _shift_by_signed_byte(rounding=False, signed=False),
    "RshS": _shift_by_signed_byte(rounding=True, signed=True),
    "RshU": _shift_by_signed_byte(rounding=True, signed=False),
    "QAddS": _saturating_sum(True, True, negate_right=False, signed=True),
    "QAddU": _saturating_sum(False, False, negate_right=False, signed=False),
    "QSubS": _saturating_sum(True, True, negate_right=True, signed=True),
    "QSubU": _saturating_sum(False, False, negate_right=True, signed=False),
    "QAddExtUSsatSS": _saturating_sum(False, True, negate_right=False, signed=True),
    "QAddExtSUsatUU": _saturating_sum(True, False, negate_right=False, signed=False),
    "QDMulHiS": _doubling_multiply_high(rounding=False),
    "QRDMulHiS": _doubling_multiply_high(rounding=True),
}

# Lane-wise (V128, V128) -> V256 that also report saturation: lane function -> (lane, saturated).
_LANEWISE_SATURATING: dict[str, Callable] = {
    "QandSQsh": _saturating_shift_by_signed_byte(rounding=False, signed=True),
    "QandUQsh": _saturating_shift_by_signed_byte(rounding=False, signed=False),
    "QandSQRsh": _saturating_shift_by_signed_byte(rounding=True, signed=True),
    "QandUQRsh": _saturating_shift_by_signed_byte(rounding=True, signed=False),
}

# Lane-wise V128 -> V128.
_LANEWISE_UNARY: dict[str, Callable] = {
    "Abs": lambda a: z3.If(a < 0, -a, a),  # the most negative value stays itself, as in AArch64 ABS
    "Cnt": _count_ones,
    "Clz": _count_leading_zeros,
    "Cls": _count_leading_sign_bits,
}

# Every lane shifted by one I8 amount, which must be a constant below the lane width.
_SHIFT_BY_SCALAR: dict[str, Callable] = {
    "ShlN": lambda a, k: a * (1 << k),  # as ops.py writes constant shifts: a product, for the solver
    "ShrN": lambda a, k: z3.LShR(a, k),
    "SarN": lambda a, k: a >> k,
    "QShlNsatSS": lambda a, k: _shift_left_saturating(a, k, in_signed=True, out_signed=True)[0],
    "QShlNsatUU": lambda a, k: _shift_left_saturating(a, k, in_signed=False, out_signed=False)[0],
    "QShlNsatSU": lambda a, k: _shift_left_saturating(a, k, in_signed=True, out_signed=False)[0],
}

# Widening (I64, I64) -> V128: each pair of lanes gives one lane of twice the width.
_WIDENING: dict[str, Callable] = {
    "MullS": lambda a, b: z3.SignExt(a.size(), a) * z3.SignExt(b.size(), b),
    "MullU": lambda a, b: z3.ZeroExt(a.size(), a) * z3.ZeroExt(b.size(), b),
    "PolynomialMull": lambda a, b: _carryless_product(a, b, 2 * a.size()),
    "QDMullS": _doubling_multiply_long,
}


# --- rearranging lanes -------------------------------------------------------------------------------
# Each takes the lanes of the left and right operands (lane 0 first) and gives the result's lanes.
# libvex_ir.h: "Most-significant result lane is from the left arg"; the high half of a Cat is from it.

def _interleave_low(left: list, right: list) -> list:
    return [lane for pair in zip(right[: len(right) // 2], left[: len(left) // 2]) for lane in pair]


def _interleave_high(left: list, right: list) -> list:
    return [lane for pair in zip(right[len(right) // 2:], left[len(left) // 2:]) for lane in pair]


_PERMUTATIONS: dict[str, Callable] = {
    "InterleaveLO": _interleave_low,
    "InterleaveHI": _interleave_high,
    "CatEvenLanes": lambda left, right: right[0::2] + left[0::2],
    "CatOddLanes": lambda left, right: right[1::2] + left[1::2],
}


def _byte_permutation(table: z3.BitVecRef, indices: z3.BitVecRef) -> z3.BitVecRef:
    """`Perm8x16`: result byte i = table byte indices[i].

    VEX defines only indices 0..15. The front end's one use (TBL/TBX) masks every index with 15 first,
    so reading the low four bits is exact for it.
    """
    table = _sized(table, V128_BITS)
    result = []
    for index in _lanes(indices, 8, 16):
        offset = z3.ZeroExt(V128_BITS - 4, z3.Extract(3, 0, index)) * 8
        result.append(z3.Extract(7, 0, z3.LShR(table, offset)))
    return _join(result)


# --- decoding ----------------------------------------------------------------------------------------

_LANE_OP = re.compile(r"Iop_(?P<family>[A-Za-z]+?)(?P<bits>8|16|32|64)(?P<sign>[SU]?)x(?P<count>2|4|8|16)$")
_REVERSE = re.compile(r"Iop_Reverse(?P<chunk>1|8|16|32)sIn(?P<group>8|16|32|64)_x(?P<count>2|4|8|16)$")
_NARROW = re.compile(r"Iop_(?P<q>Q?)NarrowUn(?P<src>16|32|64)(?P<source_sign>[SU]?)to(?P<dst>8|16|32)"
                     r"(?P<result_sign>[SU]?)x(?P<count>2|4|8)$")
_NARROWING_SHIFT = re.compile(r"Iop_QandQ(?P<round>R?)(?P<kind>Sar|Shr)Nnarrow(?P<src>16|32|64)(?P<source_sign>[SU])"
                              r"to(?P<dst>8|16|32)(?P<result_sign>[SU])x(?P<count>2|4|8)$")
_ZERO_HIGH = re.compile(r"Iop_ZeroHI(?P<bits>64|96|112|120)ofV128$")


def _lane_op(family: str, bits: int, count: int) -> Callable | None:
    """`Iop_<family><bits><sign>x<count>`, with `family` already carrying the signedness letter."""
    if family in _WIDENING and bits * count == 64:
        fn = _WIDENING[family]
        return lambda a, b: _join([fn(x, y) for x, y in zip(_lanes(a, bits, count), _lanes(b, bits, count))])
    if bits * count != V128_BITS:
        return None  # 64-bit vector ops (Add8x8, ...): never emitted by the AArch64 front end
    if family in _LANEWISE_BINARY:
        fn = _LANEWISE_BINARY[family]
        return lambda a, b: _join([fn(x, y) for x, y in zip(_lanes(a, bits, count), _lanes(b, bits, count))])
    if family in _LANEWISE_SATURATING:
        fn = _LANEWISE_SATURATING[family]

        def with_flag(a, b):
            lanes, saturated = zip(*[fn(x, y) for x, y in zip(_lanes(a, bits, count), _lanes(b, bits, count))])
            return z3.Concat(_flag(saturated, V128_BITS), _join(list(lanes)))

        return with_flag
    if family in _LANEWISE_UNARY:
        fn = _LANEWISE_UNARY[family]
        return lambda a: _join([fn(x) for x in _lanes(a, bits, count)])
    if family in _SHIFT_BY_SCALAR:
        fn = _SHIFT_BY_SCALAR[family]

        def shift_all(a, amount):
            k = _constant(amount, bits, f"Iop_{family}{bits}x{count} shift amount")
            return _join([fn(x, k) for x in _lanes(a, bits, count)])

        return shift_all
    if family in _PERMUTATIONS:
        fn = _PERMUTATIONS[family]
        return lambda left, right: _join(fn(_lanes(left, bits, count), _lanes(right, bits, count)))
    if family == "Perm" and bits == 8:
        return _byte_permutation
    return None


def _reverse(chunk: int, group: int, count: int) -> Callable | None:
    """`Reverse<chunk>sIn<group>_x<count>`: reverse the order of the chunks inside each group (REV16,
    REV32, REV64; `Reverse1sIn8_x16` reverses the bits of each byte, RBIT)."""
    if chunk >= group or group * count != V128_BITS:
        return None
    per_group = group // chunk

    def reverse(a):
        chunks = _lanes(a, chunk, V128_BITS // chunk)
        # Chunk i is at `position` in group `number`; it takes the chunk at the mirrored position.
        mirrored = [number * per_group + per_group - 1 - position
                    for number, position in (divmod(i, per_group) for i in range(len(chunks)))]
        return _join([chunks[j] for j in mirrored])

    return reverse


def _flag(saturated, bits: int) -> z3.BitVecRef:
    """The `Qand...` ops' report: 1 when any lane saturated, in `bits` bits."""
    return z3.If(z3.Or(*saturated), z3.BitVecVal(1, bits), z3.BitVecVal(0, bits))


def _narrow(src: int, source_sign: str, dst: int, result_sign: str, count: int) -> Callable | None:
    """`NarrowUn<src>to<dst>x<count>`: V128 -> I64, the low half of every lane (XTN); with a Q and
    signedness letters (`QNarrowUn32Sto16Ux4`), each lane saturated to the narrow range instead (SQXTN,
    UQXTN, SQXTUN)."""
    if src != 2 * dst or src * count != V128_BITS or (source_sign == "U" and result_sign == "S"):
        return None
    if not source_sign:
        return lambda a: _join([z3.Extract(dst - 1, 0, x) for x in _lanes(a, src, count)])
    return lambda a: _join([_saturate(_extend(x, source_sign == "S", src + 1), dst, result_sign == "S")[0]
                            for x in _lanes(a, src, count)])


def _narrowing_shift(rounding: bool, src: int, source_sign: str, dst: int, result_sign: str,
                     count: int) -> Callable | None:
    """`QandQ[R]<Sar|Shr>Nnarrow<src><S|U>to<dst><S|U>x<count>` (SQSHRN, UQRSHRN, SQSHRUN, ...): (V128, I8)
    -> V128. Each lane is shifted right by a constant n (rounding adds 2^(n-1) first, exactly), then
    saturated to `dst` bits; the low 64 bits hold the lanes, bit 64 whether any saturated. VEX says n is
    1 to "the lane width"; the instructions encode 1..dst, which is read under either lane, so only that
    is accepted."""
    if src != 2 * dst or src * count != V128_BITS or (source_sign == "U" and result_sign == "S"):
        return None

    def shift(a, amount):
        n = _constant(amount, dst + 1, "narrowing shift amount")
        if n == 0:
            raise NotModelled("narrowing shift by 0 (VEX defines 1 to the lane width)")
        lanes, saturated = [], []
        for x in _lanes(a, src, count):
            wide = _extend(x, source_sign == "S", src + 2)
            if rounding:
                wide = wide + (1 << (n - 1))
            lane, clamped = _saturate(wide >> n, dst, result_sign == "S")
            lanes.append(lane)
            saturated.append(clamped)
        return z3.Concat(_flag(saturated, 64), _join(lanes))

    return shift


def _slice(high: z3.BitVecRef, low: z3.BitVecRef, nbytes: z3.BitVecRef) -> z3.BitVecRef:
    """`SliceV128`: the low 128 bits of (high:low) >> 8*nbytes, nbytes 0..16 (EXT, and lane shuffles)."""
    shift = 8 * _constant(nbytes, 17, "Iop_SliceV128 byte count")
    both = z3.Concat(_sized(high, V128_BITS), _sized(low, V128_BITS))
    return z3.Extract(shift + V128_BITS - 1, shift, both)


def _zero_high(bits: int) -> Callable:
    """`ZeroHI<bits>ofV128`: keep the low 128 - bits bits (a write to a d, s, h or b register)."""
    keep = V128_BITS - bits
    return lambda a: z3.ZeroExt(bits, z3.Extract(keep - 1, 0, _sized(a, V128_BITS)))


def _whole_shift(direction: str) -> Callable:
    """`ShlV128` / `ShrV128`: the whole register shifted by a constant number of bits."""

    def shift(a, amount):
        k = _constant(amount, V128_BITS, f"Iop_{direction}V128 shift amount")
        a = _sized(a, V128_BITS)
        return a << k if direction == "Shl" else z3.LShR(a, k)

    return shift


_WHOLE_REGISTER: dict[str, Callable] = {
    "Iop_64UtoV128": lambda a: z3.ZeroExt(64, _sized(a, 64)),
    "Iop_SliceV128": _slice,
    "Iop_ShlV128": _whole_shift("Shl"),
    "Iop_ShrV128": _whole_shift("Shr"),
    "Iop_V256toV128_0": lambda a: z3.Extract(V128_BITS - 1, 0, _sized(a, 2 * V128_BITS)),
    "Iop_V256toV128_1": lambda a: z3.Extract(2 * V128_BITS - 1, V128_BITS, _sized(a, 2 * V128_BITS)),
}


def decode(op: str) -> Callable | None:
    """A Z3 function for the VEX vector op `op`, or None when it is not modelled."""
    if op in _WHOLE_REGISTER:
        return _WHOLE_REGISTER[op]
    match = _ZERO_HIGH.match(op)
    if match:
        return _zero_high(int(match["bits"]))
    match = _REVERSE.match(op)
    if match:
        return _reverse(int(match["chunk"]), int(match["group"]), int(match["count"]))
    match = _NARROW.match(op)
    if match and bool(match["q"]) == bool(match["source_sign"]) == bool(match["result_sign"]):
        return _narrow(int(match["src"]), match["source_sign"], int(match["dst"]), match["result_sign"],
                       int(match["count"]))
    match = _NARROWING_SHIFT.match(op)
    if match and (match["kind"] == "Sar") == (match["source_sign"] == "S"):
        return _narrowing_shift(bool(match["round"]), int(match["src"]), match["source_sign"], int(match["dst"]),
                                match["result_sign"], int(match["count"]))
    match = _LANE_OP.match(op)
    if match:
        return _lane_op(match["family"] + match["sign"], int(match["bits"]), int(match["count"]))
    return None
