"""Instructions whose VEX IR does not say what they mean, recognised by their encoding.

VEX's AArch64 front end lifts some instructions to the op of a different instruction: FMIN and FMINNM
both become `Iop_Min*`, FCVTNS and FCVTAS both round with the literal mode 0, FADDP (vector) hands each
pair to `Iop_Add*` in reverse order, FMULX becomes FMUL, and the fused multiply-adds become a rounded
multiply then a rounded add. An op alone cannot be modelled exactly for such instructions, so each of
them is recognised here by its encoding (the Arm ARM's tables), lifted as a block of its own (lift.py),
and handled one of three ways:

- `Meaning`: VEX's IR is right but for what its ops mean; the executor passes the meaning to the FP ops
  (fp.py), which then know the NaN rule of a Min/Max, the rounding of a literal mode 0, ...
- `FusedMultiplyAdd`: VEX's IR is wrong (two roundings, and a negation in the wrong place for the signed
  zeros of FNMADD/FNMSUB); the executor runs this model of the instruction instead of the IR.
- `REFUSED`: forms we do not model at all (half precision, which VEX does not decode either).

Whatever is not in these tables goes through VEX as usual; fp.py refuses the ambiguous ops when no
meaning comes with them, so an instruction missing here is `unsupported`, never misread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import z3

from ..errors import NotModelled
from . import fp


@dataclass(frozen=True)
class Meaning:
    """What an instruction means where the VEX ops it lifts to do not say."""

    instruction: str  # for messages, e.g. "fminnm (vector)"
    nan_rule: Literal["min", "max", "minnm", "maxnm"] | None = None  # the meaning of its Min/Max ops
    swapped: bool = False  # VEX gives its binary FP ops their operands in reverse order
    nearest: Literal["even", "away", "odd", "exact"] | None = None  # the meaning of a literal mode 0
    mulx: bool = False  # its Mul is FMULX: 0 x inf gives 2 (with the product's sign), not a NaN


def _min_max_meaning(name: str, rule: str, swapped: bool = False) -> Meaning:
    return Meaning(name, nan_rule=rule, swapped=swapped)


# (mask, value, meaning). Masks leave the register fields and the size bits the form allows free.
MEANINGS: list[tuple[int, int, Meaning]] = [
    # FP data-processing (2 source), scalar
    (0xFF20FC00, 0x1E204800, _min_max_meaning("fmax", "max")),
    (0xFF20FC00, 0x1E205800, _min_max_meaning("fmin", "min")),
    (0xFF20FC00, 0x1E206800, _min_max_meaning("fmaxnm", "maxnm")),
    (0xFF20FC00, 0x1E207800, _min_max_meaning("fminnm", "minnm")),
    # Advanced SIMD three same (FP)
    (0xBFA0FC00, 0x0E20F400, _min_max_meaning("fmax (vector)", "max")),
    (0xBFA0FC00, 0x0EA0F400, _min_max_meaning("fmin (vector)", "min")),
    (0xBFA0FC00, 0x0E20C400, _min_max_meaning("fmaxnm (vector)", "maxnm")),
    (0xBFA0FC00, 0x0EA0C400, _min_max_meaning("fminnm (vector)", "minnm")),
    (0xBFA0FC00, 0x0E20D400, Meaning("fadd (vector)")),
    # ... pairwise: VEX pairs the 128-bit forms as (odd, even), the 64-bit form (.2s) as (even, odd)
    (0xFFA0FC00, 0x2E20F400, _min_max_meaning("fmaxp (vector)", "max")),
    (0xFFA0FC00, 0x2EA0F400, _min_max_meaning("fminp (vector)", "min")),
    (0xFFA0FC00, 0x2E20C400, _min_max_meaning("fmaxnmp (vector)", "maxnm")),
    (0xFFA0FC00, 0x2EA0C400, _min_max_meaning("fminnmp (vector)", "minnm")),
    (0xFFA0FC00, 0x2E20D400, Meaning("faddp (vector)")),
    (0xFFA0FC00, 0x6E20F400, _min_max_meaning("fmaxp (vector)", "max", swapped=True)),
    (0xFFA0FC00, 0x6EA0F400, _min_max_meaning("fminp (vector)", "min", swapped=True)),
    (0xFFA0FC00, 0x6E20C400, _min_max_meaning("fmaxnmp (vector)", "maxnm", swapped=True)),
    (0xFFA0FC00, 0x6EA0C400, _min_max_meaning("fminnmp (vector)", "minnm", swapped=True)),
    (0xFFA0FC00, 0x6E20D400, Meaning("faddp (vector)", swapped=True)),
    # Advanced SIMD across lanes (only .4s exists): VEX reduces (hi, lo) where Arm reduces (lo, hi)
    (0xBFBFFC00, 0x2E30F800, _min_max_meaning("fmaxv", "max", swapped=True)),
    (0xBFBFFC00, 0x2EB0F800, _min_max_meaning("fminv", "min", swapped=True)),
    (0xBFBFFC00, 0x2E30C800, _min_max_meaning("fmaxnmv", "maxnm", swapped=True)),
    (0xBFBFFC00, 0x2EB0C800, _min_max_meaning("fminnmv", "minnm", swapped=True)),
    # Advanced SIMD scalar pairwise
    (0xFFBFFC00, 0x7E30D800, Meaning("faddp (scalar)")),
    (0xFFBFFC00, 0x7E30F800, _min_max_meaning("fmaxp (scalar)", "max")),
    (0xFFBFFC00, 0x7EB0F800, _min_max_meaning("fminp (scalar)", "min")),
    (0xFFBFFC00, 0x7E30C800, _min_max_meaning("fmaxnmp (scalar)", "maxnm")),
    (0xFFBFFC00, 0x7EB0C800, _min_max_meaning("fminnmp (scalar)", "minnm")),
    # FMULX, which VEX lifts as FMUL
    (0xBFA0FC00, 0x0E20DC00, Meaning("fmulx (vector)", mulx=True)),
    (0xFFA0FC00, 0x5E20DC00, Meaning("fmulx (scalar)", mulx=True)),
    (0xBF80F400, 0x2F809000, Meaning("fmulx (by element)", mulx=True)),
    (0xFF80F400, 0x7F809000, Meaning("fmulx (scalar, by element)", mulx=True)),
    # conversions and FRINT with a literal round-to-nearest mode: ties to even, ties away, to odd
    (0x7F3FFC00, 0x1E200000, Meaning("fcvtns", nearest="even")),
    (0x7F3FFC00, 0x1E210000, Meaning("fcvtnu", nearest="even")),
    (0x7F3FFC00, 0x1E240000, Meaning("fcvtas", nearest="away")),
    (0x7F3FFC00, 0x1E250000, Meaning("fcvtau", nearest="away")),
    (0xFF3FFC00, 0x1E244000, Meaning("frintn", nearest="even")),
    (0xFF3FFC00, 0x1E264000, Meaning("frinta", nearest="away")),
    (0xBFBFFC00, 0x0E218800, Meaning("frintn (vector)", nearest="even")),
    (0xBFBFFC00, 0x2E218800, Meaning("frinta (vector)", nearest="away")),
    (0xBFBFFC00, 0x0E21A800, Meaning("fcvtns (vector)", nearest="even")),
    (0xBFBFFC00, 0x2E21A800, Meaning("fcvtnu (vector)", nearest="even")),
    (0xBFBFFC00, 0x0E21C800, Meaning("fcvtas (vector)", nearest="away")),
    (0xBFBFFC00, 0x2E21C800, Meaning("fcvtau (vector)", nearest="away")),
    (0xFFBFFC00, 0x5E21A800, Meaning("fcvtns (scalar SIMD)", nearest="even")),
    (0xFFBFFC00, 0x7E21A800, Meaning("fcvtnu (scalar SIMD)", nearest="even")),
    (0xFFBFFC00, 0x5E21C800, Meaning("fcvtas (scalar SIMD)", nearest="away")),
    (0xFFBFFC00, 0x7E21C800, Meaning("fcvtau (scalar SIMD)", nearest="away")),
    (0xBFBFFC00, 0x2E216800, Meaning("fcvtxn (vector)", nearest="odd")),
    (0xFFBFFC00, 0x7E216800, Meaning("fcvtxn (scalar)", nearest="odd")),
    # fixed-point to FP: VEX converts (FPCR rounding), then scales by 2^-fbits with mode 0; the scaling
    # is exact (an integer times 2^-64 or more is a normal number), so the mode does not matter
    (0x7F3F0000, 0x1E020000, Meaning("scvtf (fixed-point)", nearest="exact")),
    (0x7F3F0000, 0x1E030000, Meaning("ucvtf (fixed-point)", nearest="exact")),
    (0xBF80FC00, 0x0F00E400, Meaning("scvtf (vector, fixed-point)", nearest="exact")),
    (0xBF80FC00, 0x2F00E400, Meaning("ucvtf (vector, fixed-point)", nearest="exact")),
    (0xFF80FC00, 0x5F00E400, Meaning("scvtf (scalar SIMD, fixed-point)", nearest="exact")),
    (0xFF80FC00, 0x7F00E400, Meaning("ucvtf (scalar SIMD, fixed-point)", nearest="exact")),
]


def meaning_of(word: int) -> Meaning | None:
    return next((meaning for mask, value, meaning in MEANINGS if word & mask == value), None)


# --- fused multiply-add: modelled from the encoding ------------------------------------------------

@dataclass(frozen=True)
class FusedMultiplyAdd:
    """d = (-)a + (-)n x m, rounded once, on each lane (Arm ARM FPMulAdd). `a` is `d` itself for the
    vector and by-element forms (FMLA/FMLS), whose multiplicand `m` may be one element of Vm."""

    instruction: str
    esize: int  # bits per element: 32 or 64
    lanes: int  # elements written; the rest of Vd becomes zero
    d: int
    n: int
    m: int
    a: int
    negate_addend: bool = False
    negate_product: bool = False  # Arm negates the first multiplicand, which also flips its NaN's sign
    index: int | None = None  # by element: the element of Vm every lane multiplies by

    def apply(self, regs: dict[str, z3.BitVecRef]) -> None:
        """Write Vd in the register map `regs` (our names: v0..v31, fpcr)."""
        fmt = fp.FORMATS[self.esize]
        mode = _fpcr_rounding(regs["fpcr"])
        vn, vm, va = (regs[f"v{r}"] for r in (self.n, self.m, self.a))
        results = []
        for lane in range(self.lanes):
            element_n = _element(vn, lane, self.esize)
            element_m = _element(vm, lane if self.index is None else self.index, self.esize)
            addend = _element(va, lane, self.esize)
            if self.negate_product:
                element_n = element_n ^ fmt.sign_bit
            if self.negate_addend:
                addend = addend ^ fmt.sign_bit
            results.append(fp.fused_multiply_add(mode, addend, element_n, element_m, fmt))
        value = z3.Concat(*reversed(results)) if len(results) > 1 else results[0]
        regs[f"v{self.d}"] = z3.ZeroExt(128 - value.size(), value)


def _element(vector: z3.BitVecRef, index: int, bits: int) -> z3.BitVecRef:
    return z3.Extract(bits * index + bits - 1, bits * index, vector)


# FPCR.RMode (bits 23:22) -> Z3; FZ (24), DN (25) and AH (1) must be clear, as the FP model assumes.
_FPCR_ROUNDING = {0: z3.RNE(), 1: z3.RTP(), 2: z3.RTN(), 3: z3.RTZ()}
_FPCR_MODELLED_BITS = 3 << 22


def _fpcr_rounding(fpcr: z3.BitVecRef) -> z3.FPRMRef:
    value = z3.simplify(fpcr)
    if not z3.is_bv_value(value) or value.as_long() & ~_FPCR_MODELLED_BITS:
        raise NotModelled(f"fused multiply-add under FPCR {value}")
    return _FPCR_ROUNDING[value.as_long() >> 22 & 3]


def _bits(word: int, high: int, low: int) -> int:
    return word >> low & ((1 << (high - low + 1)) - 1)


def fused_of(word: int) -> FusedMultiplyAdd | None:
    """The fused multiply-add `word` encodes (single or double precision), or None."""
    d, n = _bits(word, 4, 0), _bits(word, 9, 5)
    if word & 0xFF000000 == 0x1F000000 and _bits(word, 23, 22) in (0, 1):  # FMADD, FMSUB, FNMADD, FNMSUB
        o1, o0 = _bits(word, 21, 21), _bits(word, 15, 15)
        name = ["fmadd", "fmsub", "fnmadd", "fnmsub"][o1 * 2 + o0]
        esize = 64 if _bits(word, 23, 22) else 32
        return FusedMultiplyAdd(name, esize, 1, d, n, _bits(word, 20, 16), _bits(word, 14, 10),
                                negate_addend=o1 == 1, negate_product=o0 != o1)
    q, sz, subtract = _bits(word, 30, 30), _bits(word, 22, 22), _bits(word, 23, 23) == 1
    esize = 64 if sz else 32
    if word & 0xBF20FC00 == 0x0E20CC00 and not (sz and not q):  # FMLA, FMLS (vector)
        name = "fmls (vector)" if subtract else "fmla (vector)"
        return FusedMultiplyAdd(name, esize, (64 << q) // esize, d, n, _bits(word, 20, 16), d,
                                negate_product=subtract)
    scalar = word & 0xFF80B400 == 0x5F801000  # FMLA, FMLS (scalar, by element)
    by_element = scalar or word & 0xBF80B400 == 0x0F801000  # FMLA, FMLS (by element)
    h, low = _bits(word, 11, 11), _bits(word, 21, 21)
    if by_element and not (sz and low) and (scalar or q or not sz):  # the rest is unallocated
        subtract = _bits(word, 14, 14) == 1
        index = h if sz else h << 1 | low
        lanes = 1 if scalar else (64 << q) // esize
        name = ("fmls" if subtract else "fmla") + (" (scalar, by element)" if scalar else " (by element)")
        return FusedMultiplyAdd(name, esize, lanes, d, n, _bits(word, 20, 16), d,
                                negate_product=subtract, index=index)
    return None


# Every FMULX and fused multiply-add form, as VEX would misread it: checked after the two tables above,
# so a form they do not cover (half precision, which VEX does not decode either, and unallocated sizes)
# is unsupported whatever VEX does with it.
REFUSED: list[tuple[int, int, str]] = [
    (0xFF000000, 0x1F000000, "fused multiply-add (fmadd/fmsub/fnmadd/fnmsub) of this precision"),
    (0xBF20FC00, 0x0E20CC00, "fused multiply-add (fmla/fmls, vector) of this arrangement"),
    (0xBF00F400, 0x0F001000, "fused multiply-add (fmla by element) of this precision"),
    (0xBF00F400, 0x0F005000, "fused multiply-add (fmls by element) of this precision"),
    (0xFF00F400, 0x5F001000, "fused multiply-add (fmla by element, scalar) of this precision"),
    (0xFF00F400, 0x5F005000, "fused multiply-add (fmls by element, scalar) of this precision"),
    (0xBFA0FC00, 0x0E20DC00, "fmulx (vector) of this arrangement"),
    (0xFFA0FC00, 0x5E20DC00, "fmulx (scalar) of this precision"),
    (0xBF00F400, 0x2F009000, "fmulx by element of this precision"),
    (0xFF00F400, 0x7F009000, "fmulx by element (scalar) of this precision"),
]


def refused(word: int) -> str | None:
    return next((what for mask, value, what in REFUSED if word & mask == value), None)
