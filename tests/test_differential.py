"""Every instruction form a64eq claims to model, run through our semantics and through unicorn.

Each form runs from edge-case and random states (0, 1, -1, INT_MIN, INT_MAX, 32-bit boundaries, random
128-bit vectors, all NZCV values); memory forms get x1 (and x3) pointing into initialised memory, with x3
sometimes aliasing x1. All registers, NZCV, the exit and every stored byte must agree.
"""

from __future__ import annotations

import random

import pytest

from differential import DATA_BASE, disagreements_over, random_state

STATES_PER_FORM = 12
CONDITIONS = ["eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al"]

ARITHMETIC = [
    "add x0, x1, #4095", "add x0, x1, #1, lsl #12", "add w0, w1, #7", "sub x0, x1, #9", "sub w0, w1, #4095",
    "add x0, x1, x2", "add x0, x1, x2, lsl #3", "add x0, x1, x2, lsr #63", "add x0, x1, x2, asr #7",
    "add w0, w1, w2, lsl #31", "sub w0, w1, w2, asr #3", "sub x0, x1, x2, lsr #1",
    "add x0, x1, w2, uxtb", "add x0, x1, w2, uxth #2", "add x0, x1, w2, uxtw #4", "add x0, x1, w2, sxtb",
    "add x0, x1, w2, sxth #1", "add x0, x1, w2, sxtw #3", "add x0, x1, x2, sxtx", "sub x0, x1, w2, sxtw",
    "add w0, w1, w2, uxtb #1", "add x0, sp, x1", "add sp, sp, #32", "sub sp, sp, x2, lsl #4", "mov x0, sp",
    "adds x0, x1, x2", "adds w0, w1, w2", "adds x0, x1, #1", "adds w0, w1, #4095", "subs x0, x1, x2",
    "subs w0, w1, w2", "subs x0, x1, #1", "subs w0, w1, #0", "adds x0, x1, w2, sxtw", "subs w0, w1, w2, lsl #4",
    "cmp x1, x2", "cmp w1, w2", "cmp x1, #0", "cmp w1, #1, lsl #12", "cmn x1, x2", "cmn w1, #5",
    "cmp x1, w2, uxtb", "neg x0, x1", "neg w0, w1, lsl #2", "negs x0, x1", "negs w0, w1",
    "adc x0, x1, x2", "adc w0, w1, w2", "adcs x0, x1, x2", "adcs w0, w1, w2", "sbc x0, x1, x2",
    "sbc w0, w1, w2", "sbcs x0, x1, x2", "sbcs w0, w1, w2", "ngc x0, x1", "ngcs w0, w1",
]

LOGICAL = [
    "and x0, x1, #0xff", "and w0, w1, #0x80000001", "orr x0, x1, #0x5555555555555555", "eor w0, w1, #0xf0f0f0f0",
    "and x0, x1, x2", "and x0, x1, x2, lsl #5", "orr w0, w1, w2, lsr #3", "eor x0, x1, x2, asr #60",
    "and x0, x1, x2, ror #17", "orr w0, w1, w2, ror #31", "bic x0, x1, x2", "bic w0, w1, w2, lsl #1",
    "orn x0, x1, x2", "orn w0, w1, w2, ror #3", "eon x0, x1, x2", "eon w0, w1, w2, asr #2",
    "ands x0, x1, x2", "ands w0, w1, w2", "ands x0, x1, #0x8000000000000000", "ands w0, w1, #1",
    "bics x0, x1, x2", "bics w0, w1, w2, lsl #2", "tst x1, x2", "tst w1, #0x80000000", "tst x1, #1",
    "mvn x0, x1", "mvn w0, w1, lsl #3",
]

MOVES = [
    "mov x0, x1", "mov w0, w1", "mov x0, #0", "mov x0, #-1", "mov w0, #0xffff0000", "mov x0, #0x1234",
    "movz x0, #0xbeef, lsl #48", "movz w0, #1, lsl #16", "movn x0, #5", "movn w0, #0, lsl #16",
    "movk x0, #0xcafe, lsl #32", "movk w0, #7", "movk x0, #0xffff", "mov x0, #0xffffffffffff0000",
    # literal loads of the snippet's own bytes: the literal pool after the code, or an instruction
    "ldr x0, =0x123456789abcdef0", "ldr w0, =0xdeadbeef", "ldrsw x0, =0x80000000", "ldr d0, =0x3ff0000000000000",
    "ldr s1, =0x7f800001", "ldr x0, =0x1111; ldr w1, =0x22; ldr x2, =0x3333333333", "ldr w0, 1f; 1: nop",
    "ldr x0, 1f; 1: nop; nop", "1: ldrsw x0, 1b",
]

SHIFTS_AND_BITFIELDS = [
    "lsl x0, x1, #1", "lsl w0, w1, #31", "lsr x0, x1, #63", "lsr w0, w1, #4", "asr x0, x1, #7",
    "asr w0, w1, #31", "ror x0, x1, #13", "ror w0, w1, #1", "lsl x0, x1, x2", "lsl w0, w1, w2",
    "lsr x0, x1, x2", "lsr w0, w1, w2", "asr x0, x1, x2", "asr w0, w1, w2", "ror x0, x1, x2", "ror w0, w1, w2",
    "ubfx x0, x1, #4, #8", "ubfx w0, w1, #31, #1", "sbfx x0, x1, #60, #4", "sbfx w0, w1, #0, #16",
    "ubfiz x0, x1, #3, #10", "ubfiz w0, w1, #30, #2", "sbfiz x0, x1, #8, #40", "sbfiz w0, w1, #1, #31",
    "bfi x0, x1, #5, #11", "bfi w0, w1, #0, #32", "bfxil x0, x1, #7, #9", "bfxil w0, w1, #16, #16",
    "bfc x0, #4, #12", "extr x0, x1, x2, #17", "extr w0, w1, w2, #31", "extr x0, x1, x1, #63",
    "sxtb x0, w1", "sxth x0, w1", "sxtw x0, w1", "sxtb w0, w1", "sxth w0, w1", "uxtb w0, w1", "uxth w0, w1",
]

MULTIPLY_DIVIDE = [
    "mul x0, x1, x2", "mul w0, w1, w2", "madd x0, x1, x2, x3", "madd w0, w1, w2, w3", "msub x0, x1, x2, x3",
    "msub w0, w1, w2, w3", "mneg x0, x1, x2", "mneg w0, w1, w2", "smull x0, w1, w2", "umull x0, w1, w2",
    "smulh x0, x1, x2", "umulh x0, x1, x2", "smaddl x0, w1, w2, x3", "umaddl x0, w1, w2, x3",
    "smsubl x0, w1, w2, x3", "umsubl x0, w1, w2, x3", "smnegl x0, w1, w2", "umnegl x0, w1, w2",
    "udiv x0, x1, x2", "udiv w0, w1, w2", "sdiv x0, x1, x2", "sdiv w0, w1, w2",
]

BIT_MANIPULATION = [
    "clz x0, x1", "clz w0, w1", "cls x0, x1", "cls w0, w1", "rbit x0, x1", "rbit w0, w1",
    "rev x0, x1", "rev w0, w1", "rev16 x0, x1", "rev16 w0, w1", "rev32 x0, x1",
]

CONDITIONAL = (
    [f"csel x0, x1, x2, {c}" for c in CONDITIONS]
    + [f"cset w0, {c}" for c in CONDITIONS[:-1]]
    + ["csel w0, w1, w2, ne", "csinc x0, x1, x2, eq", "csinc w0, w1, w2, lt", "csinv x0, x1, x2, hi",
       "csinv w0, w1, w2, vs", "csneg x0, x1, x2, ge", "csneg w0, w1, w2, cc", "csetm x0, le",
       "csetm w0, mi", "cinc x0, x1, gt", "cinc w0, w1, ls", "cinv x0, x1, pl", "cneg x0, x1, mi",
       "cneg w0, w1, vc", "ccmp x1, x2, #0, eq", "ccmp w1, w2, #15, ne", "ccmp x1, #31, #4, hi",
       "ccmp w1, #0, #2, lt", "ccmn x1, x2, #8, ge", "ccmn w1, #3, #1, vs", "ccmp x1, x2, #5, al"]
)

# Flag setters followed by a reader of every condition: checks every cc_op x condition pair.
FLAG_CHAINS = [
    f"{setter}; cset x3, {c}; csel x4, x1, x2, {c}"
    for setter in ["adds x0, x1, x2", "subs w0, w1, w2", "ands x0, x1, x2", "adcs w0, w1, w2",
                   "sbcs x0, x1, x2", "cmn w1, w2", "tst w1, w2"]
    for c in CONDITIONS[:-1]
] + ["cmp x1, x2; ccmp x1, #3, #4, ne; cset w6, gt", "cmp w1, #0; ccmn w2, #1, #0, eq; cinc x0, x3, hs"]

MEMORY = [
    "ldr x0, [x1]", "ldr w0, [x1, #4]", "ldr x0, [x1, #32760]", "ldrb w0, [x1, #1]", "ldrh w0, [x1, #2]",
    "ldrsb x0, [x1]", "ldrsb w0, [x1, #3]", "ldrsh x0, [x1]", "ldrsh w0, [x1, #6]", "ldrsw x0, [x1, #4]",
    "ldr x0, [x1, #-8]!", "ldr w0, [x1, #12]!", "ldr x0, [x1], #16", "ldrb w0, [x1], #-1",
    "ldr x0, [x1, x2]", "ldr x0, [x1, x2, lsl #3]", "ldr w0, [x1, w2, sxtw]", "ldr w0, [x1, w2, uxtw #2]",
    "ldrh w0, [x1, x2, lsl #1]", "ldrsw x0, [x1, w2, sxtw #2]", "ldrb w0, [x1, w2, uxtw]",
    "ldur x0, [x1, #-3]", "ldur w0, [x1, #255]", "ldurb w0, [x1, #-1]", "ldursh x0, [x1, #-7]",
    "str x0, [x1]", "str w0, [x1, #4]", "strb w0, [x1, #1]", "strh w0, [x1, #2]", "str x0, [x1, #-16]!",
    "str w0, [x1], #4", "str x0, [x1, x2, lsl #3]", "strb w0, [x1, w2, sxtw]", "stur x0, [x1, #-5]",
    "sturh w0, [x1, #3]", "ldp x0, x2, [x1]", "ldp w0, w2, [x1, #8]", "ldp x0, x2, [x1, #-16]!",
    "ldp x0, x2, [x1], #32", "ldpsw x0, x2, [x1, #4]", "stp x0, x2, [x1]", "stp w0, w2, [x1, #-8]!",
    "stp x0, x2, [x1], #16", "ldr x0, [sp, #8]", "stp x29, x30, [sp, #-16]!", "ldp x29, x30, [sp], #16",
    "ldr q0, [x1]", "str q1, [x1, #16]", "ldr d0, [x1, #8]", "str s2, [x1]", "ldp q0, q1, [x1]",
    "str x0, [x1]; ldr x2, [x3]", "str w0, [x3, #2]; ldr x2, [x1]", "strb w0, [x1]; ldrh w2, [x3]",
]

BRANCHES = (
    [f"b.{c} ext" for c in CONDITIONS]
    + ["cbz x0, ext", "cbz w0, ext", "cbnz x0, ext", "cbnz w0, ext", "tbz x0, #63, ext", "tbz w0, #0, ext",
       "tbnz x0, #33, ext", "tbnz w0, #31, ext", "b ext", "nop", "ret", "br x2", "ret x5",
       "cmp x1, x2; b.lt 1f; mov x0, x1; b 2f; 1: mov x0, x2; 2: add x0, x0, #1",
       "cbz x0, 1f; add x1, x1, #1; 1: cbnz x1, other; sub x2, x2, #1",
       "tbz w0, #3, 1f; str x0, [x1]; 1: ldr x2, [x1]"]
)

ALL_FORMS = ARITHMETIC + LOGICAL + MOVES + SHIFTS_AND_BITFIELDS + MULTIPLY_DIVIDE + BIT_MANIPULATION + \
    CONDITIONAL + FLAG_CHAINS + MEMORY + BRANCHES


def _pointers(form: str, rng: random.Random) -> dict[str, int]:
    """Memory forms read through x1 (and x3, which aliases x1 half the time); indices stay small."""
    base = DATA_BASE + rng.randrange(0, 0x800)
    alias = base + rng.choice([0, 0, 1, 2, 4, 8, -4])
    pointers = {"x1": base, "x3": base if rng.random() < 0.5 else alias}
    if "x2" in form or "w2" in form:
        pointers["x2"] = rng.choice([0, 1, 3, 7, 15, (1 << 64) - 1, 0xFFFF_FFFF, 0xFFFF_FFF8])
    return pointers


@pytest.mark.parametrize("form", ALL_FORMS)
def test_semantics_agree_with_unicorn(form):
    uses_memory = "[" in form
    problems = disagreements_over(
        form, lambda rng, _: random_state(rng, _pointers(form, rng) if uses_memory else None), STATES_PER_FORM)
    assert not problems, "\n".join(problems[:10])


# Loops, unrolled to UNROLL iterations; the states keep every trip count within the bound (x0 = 1..6).
UNROLL = 8
LOOPS = [
    "1: subs x0, x0, #1\nb.ne 1b",
    "mov x2, #0\n1: add x2, x2, x1\nsubs x0, x0, #1\nb.ne 1b",
    "1: ldrb w3, [x1], #1\nstrb w3, [x4], #1\nsubs x0, x0, #1\nb.hi 1b",
    "mov x5, #0\n1: cbz x0, 2f\nadd x5, x5, x0\nsub x0, x0, #1\nb 1b\n2: mov x6, x5",
    "1: tbz x0, #0, 2f\neor x7, x7, x1\n2: lsr x0, x0, #1\ncbnz x0, 1b",
]


@pytest.mark.parametrize("form", LOOPS)
def test_unrolled_loops_agree_with_unicorn(form):
    def state(rng, _):
        pointers = _pointers(form, rng)
        pointers["x4"] = pointers["x1"] + 64
        pointers["x0"] = rng.randrange(1, 7)
        return random_state(rng, pointers)

    problems = disagreements_over(form, state, STATES_PER_FORM, unroll=UNROLL)
    assert not problems, "\n".join(problems[:10])
