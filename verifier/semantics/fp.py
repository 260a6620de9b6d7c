"""Floating-point operations (`Iop_AddF64`, `Iop_Sub32Fx4`, `Iop_F64toI32S`, `Iop_CmpF32`, ...) on bit patterns.

Every FP value is kept as its IEEE bit pattern (a bit-vector of 16, 32 or 64 bits). An operation turns
its operands into Z3 floating-point terms, computes with Z3's FP theory, and turns the result back into
bits. Z3 has a single NaN without sign or payload, so NaNs are decided on the bit patterns, as AArch64
does with FPCR.DN = 0 (the default, which the machine state fixes):

- an operand that is a NaN gives the result (Arm ARM FPProcessNaNs): the first signalling NaN, quieted,
  else the first quiet NaN, operands taken in order;
- an invalid operation on numbers (inf - inf, 0 / 0, sqrt(-1)) gives the default NaN, positive and quiet;
- FNEG and FABS only flip or clear the sign bit, of NaNs too;
- a conversion to an integer rounds as the instruction says, saturates out of range and gives 0 for a NaN.

FP exception flags (FPSR) are not observable, so they are not computed: FCMP and FCMPE are the same here.

What VEX gives us is not always what the machine does. The AArch64 front end lifts several instructions
to the op of a different one (FMIN and FMINNM to one `Iop_Min*`, FCVTNS and FCVTAS to one conversion with
the literal rounding mode 0, ...). encodings.py recognises those instructions by their encoding and hands
their `Meaning` to `decode`; without one, the ambiguous ops (`_ambiguity`) and a literal mode 0 are refused.
The modes the front end reads from FPCR arrive as terms (which evaluate to 0, round to nearest even), and
the literal modes 1-3 (FCVTMS/FRINTM, FCVTPS/FRINTP, FCVTZS/FRINTZ) mean only what they say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import z3

from ..errors import NotModelled
from .vector import _join, _lanes  # the lane layout of the integer lane ops: lane 0 in the low bits

if TYPE_CHECKING:
    from .encodings import Meaning


@dataclass(frozen=True)
class _Format:
    """An IEEE binary format: `bits` in all, `ebits` of exponent, `sbits` of significand incl. the hidden bit."""

    bits: int
    ebits: int
    sbits: int

    @property
    def sort(self) -> z3.FPSortRef:
        return z3.FPSort(self.ebits, self.sbits)

    @property
    def sign_bit(self) -> int:
        return 1 << (self.bits - 1)

    @property
    def quiet_bit(self) -> int:
        """The top fraction bit: set in a quiet NaN, clear in a signalling one."""
        return 1 << (self.sbits - 2)

    @property
    def default_nan(self) -> int:
        """Arm ARM FPDefaultNaN: positive, exponent all ones, only the quiet bit set in the fraction."""
        return ((1 << self.ebits) - 1) << (self.sbits - 1) | self.quiet_bit


FORMATS = {16: _Format(16, 5, 11), 32: _Format(32, 8, 24), 64: _Format(64, 11, 53)}


# --- bit patterns <-> Z3 floating point --------------------------------------------------------------

def _sized(value: z3.BitVecRef, fmt: _Format) -> z3.BitVecRef:
    if value.size() != fmt.bits:
        raise NotModelled(f"{value.size()}-bit operand where an F{fmt.bits} was expected")
    return value


def _is_nan(x: z3.BitVecRef, fmt: _Format) -> z3.BoolRef:
    exponent = z3.Extract(fmt.bits - 2, fmt.sbits - 1, x)
    fraction = z3.Extract(fmt.sbits - 2, 0, x)
    return z3.And(exponent == (1 << fmt.ebits) - 1, fraction != 0)


def _is_signalling(x: z3.BitVecRef, fmt: _Format) -> z3.BoolRef:
    return z3.And(_is_nan(x, fmt), x & fmt.quiet_bit == 0)


def _value(x: z3.BitVecRef, fmt: _Format) -> z3.FPRef:
    """The FP number `x` encodes; callers decide NaNs on the bits before they look at this."""
    return z3.fpBVToFP(_sized(x, fmt), fmt.sort)


def _encode(result: z3.FPRef, fmt: _Format) -> z3.BitVecRef:
    """The bits of a computed result: a NaN made from numbers is the default NaN."""
    return z3.If(z3.fpIsNaN(result), z3.BitVecVal(fmt.default_nan, fmt.bits), z3.fpToIEEEBV(result))


def _process_nans(operands: list[z3.BitVecRef], fmt: _Format, otherwise: z3.BitVecRef) -> z3.BitVecRef:
    """Arm ARM FPProcessNaNs (FPCR.DN = 0): the first signalling NaN operand quieted, else the first quiet
    NaN operand, else `otherwise`. The first operand's test is built last, so it is the outermost."""
    result = otherwise
    for x in reversed(operands):
        result = z3.If(_is_nan(x, fmt), x, result)  # quiet ones; a signalling one is caught below
    for x in reversed(operands):
        result = z3.If(_is_signalling(x, fmt), x | fmt.quiet_bit, result)
    return result


def _convert_nan(x: z3.BitVecRef, src: _Format, dst: _Format) -> z3.BitVecRef:
    """Arm ARM FPConvertNaN: same sign, quiet, the payload below the quiet bit kept from its top end."""
    payload_bits, kept = src.sbits - 2, dst.sbits - 2
    payload = z3.Extract(payload_bits - 1, 0, x)
    if kept > payload_bits:
        payload = z3.Concat(payload, z3.BitVecVal(0, kept - payload_bits))
    elif kept < payload_bits:
        payload = z3.Extract(payload_bits - 1, payload_bits - kept, payload)
    return z3.Concat(z3.Extract(src.bits - 1, src.bits - 1, x), z3.BitVecVal(-1, dst.ebits + 1), payload)


# --- rounding modes ----------------------------------------------------------------------------------

# IRRoundingMode (libvex_ir.h) -> Z3; 4 and up (ties away, prepare-for-shorter, ...) are not modelled.
_ROUNDING = {0: z3.RNE(), 1: z3.RTN(), 2: z3.RTP(), 3: z3.RTZ()}


_NEAREST = {"even": z3.RNE(), "away": z3.RNA(), "exact": z3.RNE()}


def _rounding(rm: z3.BitVecRef, meaning: Meaning | None) -> z3.FPRMRef:
    """The Z3 rounding mode of a VEX rounding-mode operand. A literal 0 means what the instruction says
    (`Meaning.nearest`): VEX writes it for ties-to-even, ties-away and round-to-odd alike."""
    if z3.is_bv_value(rm) and rm.as_long() == 0:
        nearest = meaning.nearest if meaning else None
        if nearest not in _NEAREST:
            raise NotModelled("FP op with a literal round-to-nearest mode, which VEX writes for "
                              "ties to even (FCVTNS, FRINTN), ties away (FCVTAS, FRINTA) and round to odd "
                              "(FCVTXN) alike" + (f"; here from {meaning.instruction}" if meaning else ""))
        return _NEAREST[nearest]
    value = z3.simplify(rm)
    if not z3.is_bv_value(value) or value.as_long() not in _ROUNDING:
        raise NotModelled(f"FP rounding mode {value}")
    return _ROUNDING[value.as_long()]


# --- scalar operations -------------------------------------------------------------------------------

_ARITHMETIC: dict[str, Callable] = {
    "Add": z3.fpAdd,
    "Sub": z3.fpSub,
    "Mul": z3.fpMul,  # only FMUL/FNMUL reach it: lift.py refuses FMULX and the fused forms by encoding
    "Div": z3.fpDiv,
}


def _arithmetic(family: str, fmt: _Format, meaning: Meaning | None) -> Callable:
    """(rm, a, b) -> a op b, rounded."""
    fn = _ARITHMETIC[family]
    if family == "Mul" and meaning and meaning.mulx:
        return _multiply_extended(fmt)

    def op(rm, a, b):
        mode = _rounding(rm, meaning)
        if meaning and meaning.nearest == "exact":
            _require_exact_scaling(family, b, fmt)
        return _process_nans([a, b], fmt, _encode(fn(mode, _value(a, fmt), _value(b, fmt)), fmt))

    return op


def _require_exact_scaling(family: str, factor: z3.BitVecRef, fmt: _Format) -> None:
    """A fixed-point SCVTF/UCVTF scales the converted integer by 2^-fbits, which is exact for every
    integer (the smallest product, 2^-64, is a normal number): the rounding mode cannot matter."""
    exponent = z3.simplify(z3.Extract(fmt.bits - 2, fmt.sbits - 1, factor))
    fraction = z3.simplify(z3.Extract(fmt.sbits - 2, 0, factor))
    bias = (1 << (fmt.ebits - 1)) - 1
    if (family != "Mul" or not z3.is_bv_value(exponent) or not z3.is_bv_value(fraction) or fraction.as_long()
            or not bias - 64 <= exponent.as_long() <= bias or z3.is_true(z3.simplify(factor < 0))):
        raise NotModelled(f"FP {family} with a literal rounding mode that is not an exact scaling")


def _multiply_extended(fmt: _Format) -> Callable:
    """FMULX (Arm ARM FPMulX): FMUL, but 0 x inf is 2 with the sign of the product, not a NaN."""

    def op(rm, a, b):
        mode = _rounding(rm, None)
        x, y = _value(a, fmt), _value(b, fmt)
        zero_times_infinity = z3.Or(z3.And(z3.fpIsZero(x), z3.fpIsInf(y)), z3.And(z3.fpIsInf(x), z3.fpIsZero(y)))
        two = z3.BitVecVal(1 << (fmt.bits - 2), fmt.bits)  # exponent = bias + 1, fraction 0
        sign = (a ^ b) & fmt.sign_bit
        product = z3.If(zero_times_infinity, two | sign, _encode(z3.fpMul(mode, x, y), fmt))
        return _process_nans([a, b], fmt, product)

    return op


def fused_multiply_add(mode: z3.FPRMRef, addend: z3.BitVecRef, a: z3.BitVecRef, b: z3.BitVecRef,
                       fmt: _Format) -> z3.BitVecRef:
    """Arm ARM FPMulAdd: addend + a x b rounded once. NaNs: addend, a, b in that order, except that a
    quiet NaN addend with 0 x inf gives the default NaN (the product's invalid operation wins)."""
    x, y = _value(a, fmt), _value(b, fmt)
    zero_times_infinity = z3.Or(z3.And(z3.fpIsZero(x), z3.fpIsInf(y)), z3.And(z3.fpIsInf(x), z3.fpIsZero(y)))
    result = _process_nans([addend, a, b], fmt, _encode(z3.fpFMA(mode, x, y, _value(addend, fmt)), fmt))
    quiet_addend = z3.And(_is_nan(addend, fmt), z3.Not(_is_signalling(addend, fmt)))
    return z3.If(z3.And(quiet_addend, zero_times_infinity), z3.BitVecVal(fmt.default_nan, fmt.bits), result)


def _min_max(rule: str, fmt: _Format) -> Callable:
    """FMAX/FMIN (Arm ARM FPMax/FPMin): NaNs propagate; FMAXNM/FMINNM (FPMaxNum/FPMinNum): a quiet NaN
    against a number loses (it counts as -inf for max, +inf for min). +0 is larger than -0."""
    is_max = rule.startswith("max")
    losing_infinity = ((1 << fmt.ebits) - 1) << (fmt.sbits - 1) | (fmt.sign_bit if is_max else 0)

    def op(a, b):
        if rule.endswith("nm"):
            quiet_a = z3.And(_is_nan(a, fmt), z3.Not(_is_signalling(a, fmt)))
            quiet_b = z3.And(_is_nan(b, fmt), z3.Not(_is_signalling(b, fmt)))
            a, b = (z3.If(z3.And(quiet_a, z3.Not(quiet_b)), z3.BitVecVal(losing_infinity, fmt.bits), a),
                    z3.If(z3.And(quiet_b, z3.Not(quiet_a)), z3.BitVecVal(losing_infinity, fmt.bits), b))
        x, y = _value(a, fmt), _value(b, fmt)
        first_wins = z3.fpGT(x, y) if is_max else z3.fpLT(x, y)
        both_zero = z3.And(z3.fpIsZero(x), z3.fpIsZero(y))
        zero = (a & b) if is_max else (a | b)  # the sign of max(+0, -0) is the AND of the signs
        return _process_nans([a, b], fmt, z3.If(both_zero, zero, z3.If(first_wins, a, b)))

    return op


def _rounded_unary(fn: Callable, fmt: _Format, meaning: Meaning | None) -> Callable:
    """(rm, a) -> fn(a), rounded: square root and round-to-integral (FRINT*)."""

    def op(rm, a):
        mode = _rounding(rm, meaning)
        return _process_nans([a], fmt, _encode(fn(mode, _value(a, fmt)), fmt))

    return op


def _negate(fmt: _Format) -> Callable:
    return lambda a: _sized(a, fmt) ^ fmt.sign_bit


def _absolute(fmt: _Format) -> Callable:
    return lambda a: _sized(a, fmt) & (fmt.sign_bit - 1)


# IRCmpF64Result (libvex_ir.h): the front end turns it into NZCV (EQ 0110, LT 1000, GT 0010, UN 0011).
_UNORDERED, _LESS, _GREATER, _EQUAL = 0x45, 0x01, 0x00, 0x40


def _compare(fmt: _Format) -> Callable:
    """(a, b) -> I32 IRCmpF64Result; -0 equals +0, a NaN on either side is unordered."""

    def compare(a, b):
        x, y = _value(a, fmt), _value(b, fmt)
        unordered, less, greater, equal = (z3.BitVecVal(c, 32) for c in (_UNORDERED, _LESS, _GREATER, _EQUAL))
        return z3.If(z3.Or(_is_nan(a, fmt), _is_nan(b, fmt)), unordered,
                     z3.If(z3.fpLT(x, y), less, z3.If(z3.fpEQ(x, y), equal, greater)))

    return compare


def _float_to_float(src: _Format, dst: _Format, meaning: Meaning | None) -> Callable:
    """FCVT between sizes: exact when widening (VEX: unary), rounded when narrowing (VEX: (rm, a));
    FCVTXN narrows rounding to odd (truncate, then set the last bit if anything was lost)."""

    def widen(a):
        return z3.If(_is_nan(a, src), _convert_nan(a, src, dst),
                     z3.fpToIEEEBV(z3.fpFPToFP(z3.RNE(), _value(a, src), dst.sort)))

    def narrow(rm, a):
        if meaning and meaning.nearest == "odd" and z3.is_bv_value(rm) and rm.as_long() == 0:
            return _narrow_to_odd(a)
        mode = _rounding(rm, meaning)
        return z3.If(_is_nan(a, src), _convert_nan(a, src, dst),
                     _encode(z3.fpFPToFP(mode, _value(a, src), dst.sort), dst))

    def _narrow_to_odd(a):
        value = _value(a, src)
        truncated = z3.fpFPToFP(z3.RTZ(), value, dst.sort)
        inexact = z3.Not(z3.fpEQ(z3.fpFPToFP(z3.RNE(), truncated, src.sort), value))
        bits = z3.fpToIEEEBV(truncated)
        return z3.If(_is_nan(a, src), _convert_nan(a, src, dst), z3.If(inexact, bits | 1, bits))

    return widen if dst.sbits > src.sbits else narrow


def _float_to_int(fmt: _Format, bits: int, signed: bool, meaning: Meaning | None) -> Callable:
    """(rm, a) -> the integer: rounded by rm, saturated to the range, 0 for a NaN (Arm ARM FPToFixed)."""
    low, high = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)

    def convert(rm, a):
        mode = _rounding(rm, meaning)
        rounded = z3.fpRoundToIntegral(mode, _value(a, fmt))
        in_range = (z3.fpToSBV if signed else z3.fpToUBV)(z3.RTZ(), rounded, z3.BitVecSort(bits))
        return z3.If(_is_nan(a, fmt), z3.BitVecVal(0, bits),
               z3.If(z3.fpGEQ(rounded, z3.FPVal(high, fmt.sort)), z3.BitVecVal(high - 1, bits),
               z3.If(z3.fpLT(rounded, z3.FPVal(low, fmt.sort)), z3.BitVecVal(low, bits), in_range)))

    return convert


def _int_to_float(bits: int, signed: bool, fmt: _Format, meaning: Meaning | None) -> Callable:
    """SCVTF/UCVTF: exact when the integer fits the significand (VEX: unary), else (rm, a), rounded."""
    to_fp = z3.fpSignedToFP if signed else z3.fpUnsignedToFP

    def exact(a):
        return z3.fpToIEEEBV(to_fp(z3.RNE(), a, fmt.sort))

    def rounded(rm, a):
        return z3.fpToIEEEBV(to_fp(_rounding(rm, meaning), a, fmt.sort))

    return exact if bits <= fmt.sbits else rounded


# --- vector operations: the scalar meaning on each lane ----------------------------------------------

def _mask(condition: z3.BoolRef, bits: int) -> z3.BitVecRef:
    return z3.If(condition, z3.BitVecVal(-1, bits), z3.BitVecVal(0, bits))


def _lane_compare(fn: Callable, fmt: _Format) -> Callable:
    """FCMEQ/FCMGT/FCMGE/FACGE...: all ones where the (ordered) comparison holds; a NaN gives 0."""
    return lambda a, b: _mask(z3.And(z3.Not(_is_nan(a, fmt)), z3.Not(_is_nan(b, fmt)),
                                     fn(_value(a, fmt), _value(b, fmt))), fmt.bits)


_LANE_COMPARES = {"CmpEQ": z3.fpEQ, "CmpLT": z3.fpLT, "CmpLE": z3.fpLEQ}


def _lane_op(family: str, fmt: _Format, count: int, meaning: Meaning | None) -> Callable | None:
    """`Iop_<family><bits>Fx<count>` on a V128: the scalar function on each lane."""

    def lanes(value):
        return _lanes(value, fmt.bits, count)

    def pairs(a, b):  # lane by lane, in the order the instruction takes them
        return [(y, x) if meaning and meaning.swapped else (x, y) for x, y in zip(lanes(a), lanes(b))]

    if family in _ARITHMETIC:
        fn = _arithmetic(family, fmt, meaning)
        return lambda rm, a, b: _join([fn(rm, x, y) for x, y in pairs(a, b)])
    if family in ("Min", "Max"):
        fn = _min_max(meaning.nan_rule, fmt)
        return lambda a, b: _join([fn(x, y) for x, y in pairs(a, b)])
    if family == "Sqrt":
        fn = _rounded_unary(z3.fpSqrt, fmt, meaning)
        return lambda rm, a: _join([fn(rm, x) for x in lanes(a)])
    if family in ("Neg", "Abs"):
        fn = (_negate if family == "Neg" else _absolute)(fmt)
        return lambda a: _join([fn(x) for x in lanes(a)])
    if family in _LANE_COMPARES:
        fn = _lane_compare(_LANE_COMPARES[family], fmt)
        return lambda a, b: _join([fn(x, y) for x, y in zip(lanes(a), lanes(b))])
    return None


# --- ops the front end gives more than one meaning ---------------------------------------------------

def _ambiguity(family: str, meaning: Meaning | None) -> str | None:
    """Why the lane op `family` cannot be modelled with this meaning (None: it can)."""
    if family in ("Min", "Max") and not (meaning and meaning.nan_rule and meaning.nan_rule.startswith(family.lower())):
        return (f"F{family.upper()} and F{family.upper()}NM (and their pairwise and across-lane forms) lift "
                "to it, but treat NaNs differently, and the instruction is not one encodings.py knows")
    if family == "Add" and meaning is None:
        return ("FADD and FADDP (vector) lift to it, FADDP with each pair's operands swapped, and the "
                "instruction is not one encodings.py knows")
    return None


def _refuse(op: str, reason: str) -> Callable:
    def refused(*args):
        raise NotModelled(f"VEX op {op}: {reason}")

    return refused


# --- decoding ----------------------------------------------------------------------------------------

_SCALAR = re.compile(r"Iop_(?P<family>Add|Sub|Mul|Div|Sqrt|Neg|Abs|Cmp)F(?P<bits>32|64)$")
_ROUND_TO_INT = re.compile(r"Iop_RoundF(?P<bits>32|64)toInt$")
_FLOAT_TO_FLOAT = re.compile(r"Iop_F(?P<src>16|32|64)toF(?P<dst>16|32|64)$")
_FLOAT_TO_INT = re.compile(r"Iop_F(?P<src>32|64)toI(?P<dst>32|64)(?P<sign>[SU])$")
_INT_TO_FLOAT = re.compile(r"Iop_I(?P<src>32|64)(?P<sign>[SU])toF(?P<dst>32|64)$")
_REINTERPRET = re.compile(r"Iop_Reinterp(?:F(?P<f1>32|64)asI(?P<i1>32|64)|I(?P<i2>32|64)asF(?P<f2>32|64))$")
_LANES = re.compile(r"Iop_(?P<family>[A-Za-z]+?)(?P<bits>32|64)Fx(?P<count>2|4)$")


def _scalar(family: str, fmt: _Format, meaning: Meaning | None) -> Callable:
    if family in _ARITHMETIC:
        return _arithmetic(family, fmt, meaning)
    if family == "Sqrt":
        return _rounded_unary(z3.fpSqrt, fmt, meaning)
    if family == "Neg":
        return _negate(fmt)
    if family == "Abs":
        return _absolute(fmt)
    return _compare(fmt)


def decode(op: str, meaning: Meaning | None = None) -> Callable | None:
    """A Z3 function on bit patterns for the VEX FP op `op`, or None when it is not modelled.
    `meaning`: what the instruction being executed means, when encodings.py knows it."""
    if match := _SCALAR.match(op):
        return _scalar(match["family"], FORMATS[int(match["bits"])], meaning)
    if match := _ROUND_TO_INT.match(op):
        return _rounded_unary(z3.fpRoundToIntegral, FORMATS[int(match["bits"])], meaning)
    if match := _FLOAT_TO_FLOAT.match(op):
        src, dst = int(match["src"]), int(match["dst"])
        return _float_to_float(FORMATS[src], FORMATS[dst], meaning) if src != dst else None
    if match := _FLOAT_TO_INT.match(op):
        return _float_to_int(FORMATS[int(match["src"])], int(match["dst"]), match["sign"] == "S", meaning)
    if match := _INT_TO_FLOAT.match(op):
        return _int_to_float(int(match["src"]), match["sign"] == "S", FORMATS[int(match["dst"])], meaning)
    if match := _REINTERPRET.match(op):
        widths = {int(b) for b in match.groups() if b}
        fmt = FORMATS[widths.pop()]
        return (lambda a: _sized(a, fmt)) if not widths else None
    if match := _LANES.match(op):
        bits, count = int(match["bits"]), int(match["count"])
        if bits * count != 128:
            return None
        if reason := _ambiguity(match["family"], meaning):
            return _refuse(op, reason)
        return _lane_op(match["family"], FORMATS[bits], count, meaning)
    return None
