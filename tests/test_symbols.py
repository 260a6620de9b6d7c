"""References to symbols the snippet does not define (verifier/symbols.py), end to end.

The model: each symbol is a free 64-bit address shared by both snippets; a relocated instruction
computes the value it has once linked; a GOT entry `sym@got` is a further free, 8-aligned address
whose 8 bytes of initial memory hold the symbol's address. Two kinds of tests check it:

- Known answers through `verifier.check` (real assembler, pyvex, Z3 and unicorn; no mocks): pairs
  that a linker makes equivalent whatever the addresses, pairs that differ (every counterexample must
  be confirmed by the unicorn replay, which links the code for the counterexample's addresses), and
  references the model refuses (TLS, internal labels, GOT with an addend, fields the instruction
  reads differently from what the relocation writes).
- Differential runs against unicorn (tests/differential.py): one form per relocation type in
  `symbols.FIELDS`, each from ~10 concrete states whose symbol addresses a linker could encode for code
  at `replay.CODE_BASE` (PC-relative forms in reach of the code, literal targets 4-aligned, GOT entries
  8-aligned and holding their symbol), with edge cases in the low 12 bits (0xfff, 0x000, odd) and
  addends; and each PC-relative field at the extremes of its reach (one step beyond must not link).
  Every register, NZCV, the exit and every stored byte must agree.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Callable

import pytest

from differential import DATA_BASE, ConcreteState, assert_not_equivalent, disagreements_over, random_state
from verifier import Verdict, check
from verifier.assemble import assemble
from verifier.confirm import linked_for_replay
from verifier.lift import CALL_RELOCATIONS
from verifier.replay import CODE_BASE, CODE_REGION_SIZE, TOP_PAGE
from verifier.symbols import FIELDS
from verifier.text import clean

# ---------------------------------------------------------------------------------------------------
# Known answers


def _assert_equivalent(source: str, candidate: str, **options):
    result = check(source, candidate, **options)
    assert result.verdict == Verdict.equivalent, result.reason
    assert result.counterexample is None


EQUIVALENT = [
    # adrp + :lo12: is how compilers spell adr when the target may be far.
    ("adrp x0, sym\nadd x0, x0, :lo12:sym", "adr x0, sym"),
    # The GOT entry holds the symbol's address, so loading it equals computing the address.
    ("adrp x0, :got:sym\nldr x0, [x0, :got_lo12:sym]", "adrp x0, sym\nadd x0, x0, :lo12:sym"),
    ("ldr x0, :got:sym", "adr x0, sym"),
    # Position independence: the same symbol is the same address wherever the instruction sits.
    ("nop\nadr x0, sym", "adr x0, sym\nnop"),
    # A literal load reads the symbol's bytes, as does a load through adrp + :lo12:.
    ("ldr w3, sym", "adrp x3, sym\nldr w3, [x3, :lo12:sym]"),
    # The absolute movz/movk chain builds the full 64-bit address.
    ("movz x5, #:abs_g3:sym\nmovk x5, #:abs_g2_nc:sym\nmovk x5, #:abs_g1_nc:sym\nmovk x5, #:abs_g0_nc:sym",
     "adr x5, sym"),
    # A prefetch has no architectural effect, whatever its relocation.
    ("prfm pldl1keep, [x0, :lo12:sym]", "nop"),
    # page(S + 4096) = page(S) + 4096.
    ("adrp x0, sym+4096", "adrp x0, sym\nadd x0, x0, #4096"),
    # Addends: S is the symbol plus the addend, in both halves of the pair.
    ("adrp x0, sym+8\nadd x0, x0, :lo12:sym+8", "adr x0, sym\nadd x0, x0, #8"),
    ("adr x1, sym-3", "adr x1, sym\nsub x1, x1, #3"),
    # The literal pool word of `ldr x0, =sym` holds the symbol's address.
    ("ldr x0, =sym", "adrp x0, sym\nadd x0, x0, :lo12:sym"),
    ("ldr x0, =sym+16\nldr x1, =0x1234", "adr x0, sym\nadd x0, x0, #16\nmov x1, #0x1234"),
    ("ldr x0, =sym\nldr x1, =sym", "adr x0, sym\nmov x1, x0"),
]


@pytest.mark.parametrize("source, candidate", EQUIVALENT)
def test_linked_equivalences(source, candidate):
    _assert_equivalent(source, candidate)


def test_byte_load_through_lo12_equals_load_through_the_full_address():
    # LDST8 keeps every bit of :lo12:, so the two addresses are the same (x2 is the candidate's scratch).
    _assert_equivalent("adrp x0, sym\nldrb w1, [x0, :lo12:sym]",
                       "adrp x0, sym\nadd x2, x0, :lo12:sym\nldrb w1, [x2]", live_out=["x0", "x1"])


def test_different_symbols_are_caught():
    cex = assert_not_equivalent(check("adr x0, sym", "adr x0, other"), "x0")
    assert set(cex.inputs.symbols) == {"sym", "other"}
    assert cex.inputs.symbols["sym"] != cex.inputs.symbols["other"]


def test_different_addend_is_caught():
    cex = assert_not_equivalent(
        check("adrp x0, sym\nadd x0, x0, :lo12:sym", "adrp x0, sym\nadd x0, x0, :lo12:sym+8"), "x0")
    assert "sym" in cex.inputs.symbols


def test_literal_pool_address_of_a_different_symbol_or_addend_is_caught():
    cex = assert_not_equivalent(check("ldr x0, =sym", "ldr x0, =other"), "x0")
    assert set(cex.inputs.symbols) == {"sym", "other"}
    assert_not_equivalent(check("ldr x0, =sym+8", "adrp x0, sym\nadd x0, x0, :lo12:sym"), "x0")


def test_got_load_of_a_different_symbol_is_caught():
    cex = assert_not_equivalent(check("ldr x0, :got:sym", "ldr x0, :got:other"), "x0")
    # The counterexample names the GOT entries (the symbols' addresses are the bytes they hold).
    assert {"sym@got", "other@got"} <= set(cex.inputs.symbols)
    for name in ("sym@got", "other@got"):
        assert int(cex.inputs.symbols[name], 16) % 8 == 0


def test_got_page_pair_of_a_different_symbol_is_caught():
    cex = assert_not_equivalent(check("adrp x0, :got:sym\nldr x0, [x0, :got_lo12:sym]",
                                      "adrp x0, :got:other\nldr x0, [x0, :got_lo12:other]"), "x0")
    assert {"sym@got", "other@got"} <= set(cex.inputs.symbols)


def test_store_to_a_different_symbol_is_caught():
    cex = assert_not_equivalent(check("adrp x1, sym\nstr x0, [x1, :lo12:sym]",
                                      "adrp x1, other\nstr x0, [x1, :lo12:other]", live_out=["memory"]), "mem[")
    assert set(cex.inputs.symbols) == {"sym", "other"}


def test_load_of_a_different_width_through_lo12_is_caught():
    cex = assert_not_equivalent(check("adrp x1, sym\nldr w0, [x1, :lo12:sym]",
                                      "adrp x1, sym\nldrh w0, [x1, :lo12:sym]"), "x0")
    assert "sym" in cex.inputs.symbols


def test_scaled_lo12_drops_the_low_bits_of_a_misaligned_symbol():
    # LDST64's field counts doublewords: the linked offset is S & 0xff8, not S & 0xfff, so the two
    # loads differ exactly when the symbol is not 8-aligned (x2 is the candidate's scratch).
    cex = assert_not_equivalent(check("adrp x0, sym\nldr x1, [x0, :lo12:sym]",
                                      "adrp x0, sym\nadd x2, x0, :lo12:sym\nldr x1, [x2]", live_out=["x0", "x1"]),
                                "x1")
    assert int(cex.inputs.symbols["sym"], 16) % 8 != 0


def test_checked_movw_group_is_a_precondition():
    # A program with `:abs_g0:sym` only links when sym fits 16 bits, so movz alone builds the address;
    # the _NC chain of G1 and G0 does not, since nothing bounds sym to 32 bits.
    _assert_equivalent("movz x0, #:abs_g0:sym", "adr x0, sym")
    _assert_equivalent("movz x0, #:abs_g1:sym\nmovk x0, #:abs_g0_nc:sym", "adr x0, sym")
    cex = assert_not_equivalent(check("movz x0, #:abs_g1_nc:sym\nmovk x0, #:abs_g0_nc:sym", "adr x0, sym"), "x0")
    assert int(cex.inputs.symbols["sym"], 16) >> 32


def test_literal_target_is_4_aligned_but_need_not_be_8_aligned():
    # A literal load's target is 4-aligned (the field counts words), which is not enough for LDST64.
    _assert_equivalent("ldr x0, sym", "adrp x1, sym\nadd x1, x1, :lo12:sym\nldr x0, [x1]", live_out=["x0"])
    cex = assert_not_equivalent(check("ldr x0, sym", "adrp x0, sym\nldr x0, [x0, :lo12:sym]"), "x0")
    assert int(cex.inputs.symbols["sym"], 16) % 8 == 4


UNSUPPORTED = [
    "add x0, x0, :tprel_lo12:sym",  # TLS
    "adr x0, 1f\n1: nop",  # a PC-relative address of a label inside the snippet
    "adrp x0, :got:sym+8",  # a GOT reference with an addend
    "movz x0, #:abs_g0_s:sym",  # a signed movw group
    # Accepted by the assembler, but the field does not mean what the relocation says (the add shifts
    # its immediate by 12; the 32-bit load scales the GOT offset by 4, the relocation by 8):
    "add x0, x1, #:lo12:sym, lsl #12",
    "ldr w0, [x1, :got_lo12:sym]",
    "ldr w0, =sym",  # a 32-bit pool word (R_AARCH64_ABS32)
]


@pytest.mark.parametrize("source", UNSUPPORTED)
def test_unmodelled_references_are_unsupported(source):
    result = check(source, "nop")
    assert result.verdict == Verdict.unsupported, result.reason
    assert "line 1" in result.reason and source.split("\n")[0] in result.reason


# ---------------------------------------------------------------------------------------------------
# Differential runs against unicorn

STATES_PER_FORM = 10
MIB, FOUR_GIB = 1 << 20, 1 << 32
LOW12_EDGES = [0xFFF, 0x000, 0x001, 0xFF8, 0x7FF, 0x800, 0xFF0]
SLACK = 64  # PC-relative targets stay this far inside the reach (instruction offsets are smaller)
WINDOW = 48  # random initial bytes either side of every address a form may read


def _low12(rng: random.Random) -> int:
    return rng.choice(LOW12_EDGES) if rng.random() < 0.6 else rng.randrange(0x1000)


def _clear_of_replay(address: int) -> bool:
    """Not in (or next to) the replay's code region, and not on (or next to) the top page."""
    near_code = CODE_BASE - 0x1000 <= address < CODE_BASE + CODE_REGION_SIZE + 0x1000
    return not near_code and address < TOP_PAGE - 0x1000


def _near_code(reach: int, align: int = 1) -> Callable[[random.Random], int]:
    """An address within ±reach bytes of the code (adr: 1 MiB; literal loads: 1 MiB, 4-aligned)."""

    def place(rng: random.Random) -> int:
        while True:
            distance = rng.choice([-reach + SLACK, reach - SLACK, -0x2000, CODE_REGION_SIZE + 0x1000,
                                   rng.randrange(-reach + SLACK, reach - SLACK)])
            address = (CODE_BASE + distance) & ~0xFFF | _low12(rng)
            address &= ~(align - 1)
            if _clear_of_replay(address) and abs(address - CODE_BASE) < reach - SLACK:
                return address

    return place


def _near_page(align: int = 1) -> Callable[[random.Random], int]:
    """An address whose 4 KiB page is within ±2**20 pages (±4 GiB) of the code's page (adrp)."""

    def place(rng: random.Random) -> int:
        while True:
            pages = rng.choice([-(1 << 20), (1 << 20) - 1, -2, 17, rng.randrange(-(1 << 20), 1 << 20)])
            address = (CODE_BASE + (pages << 12) | _low12(rng)) & ~(align - 1)
            if _clear_of_replay(address):
                return address

    return place


def _absolute(bits: int, align: int = 1) -> Callable[[random.Random], int]:
    """Any address of `bits` bits, each 16-bit group an edge value or random: movw's checked groups
    G0/G1/G2 must fit 16/32/48 bits (they are absolute, so need not be near the code); G3 and the _NC
    forms take any 64-bit value; so do the :lo12: forms on their own and a symbol reached only through
    its GOT entry."""

    def place(rng: random.Random) -> int:
        while True:
            groups = [rng.choice([0, 0xFFFF, 0x8000, 0x7FFF, rng.getrandbits(16)]) for _ in range(bits // 16)]
            address = sum(group << 16 * i for i, group in enumerate(groups))
            address = (address & ~0xFFF | _low12(rng)) & ~(align - 1)
            if _clear_of_replay(address):
                return address

    return place


ADR = _near_code(MIB)
LITERAL = _near_code(MIB, align=4)
PAGE = _near_page()
ANYWHERE = _absolute(64)
GOT_PAGE, GOT_LITERAL, GOT_ANYWHERE = _near_page(align=8), _near_code(MIB, align=8), _absolute(64, align=8)


@dataclass(frozen=True)
class Case:
    """A form referencing `sym`; `place` says where the referenced address may be: S = sym + addend,
    or for a `:got:` form the GOT entry `sym@got` (the symbol itself is then anywhere)."""

    form: str
    place: Callable[[random.Random], int]
    addend: int = 0
    got: bool = False
    base: str | None = None  # read as a pointer before anything sets it: pinned to a data page

    def __str__(self) -> str:
        return self.form.replace("\n", "; ")


def _lo12_accesses(op: str, scale: int) -> list[Case]:
    """A :lo12: load or store after its adrp, with and without an addend, and alone from a data page."""
    return [Case(f"adrp x1, sym\n{op}, [x1, :lo12:sym]", PAGE),
            Case(f"adrp x1, sym+{1 << scale}\n{op}, [x1, :lo12:sym+{1 << scale}]", PAGE, addend=1 << scale),
            Case(f"{op}, [x1, :lo12:sym]", ANYWHERE, base="x1")]


CASES = [
    # R_AARCH64_ADR_PREL_LO21
    Case("adr x0, sym", ADR), Case("adr x7, sym+3", ADR, addend=3), Case("nop\nadr x0, sym-1", ADR, addend=-1),
    # R_AARCH64_ADR_PREL_PG_HI21 and _NC
    Case("adrp x0, sym", PAGE), Case("adrp x0, sym+4096", PAGE, addend=4096),
    Case("adrp x2, :pg_hi21_nc:sym", PAGE),
    # R_AARCH64_ADD_ABS_LO12_NC, 64- and 32-bit, alone and after adrp
    Case("add x0, x1, :lo12:sym", ANYWHERE), Case("add w0, w0, :lo12:sym", ANYWHERE),
    Case("add w0, w1, :lo12:sym+5", ANYWHERE, addend=5), Case("add x0, x1, :lo12:sym-1", ANYWHERE, addend=-1),
    Case("adrp x0, sym\nadd x0, x0, :lo12:sym", PAGE),
    # R_AARCH64_LDST{8,16,32,64,128}_ABS_LO12_NC: loads (signed ones too) and stores of every size
    *_lo12_accesses("ldrb w0", 0), *_lo12_accesses("ldrsb x0", 0), *_lo12_accesses("strb w0", 0),
    *_lo12_accesses("ldrh w0", 1), *_lo12_accesses("ldrsh w0", 1), *_lo12_accesses("strh w0", 1),
    *_lo12_accesses("ldr w0", 2), *_lo12_accesses("ldrsw x0", 2), *_lo12_accesses("str s0", 2),
    *_lo12_accesses("ldr x0", 3), *_lo12_accesses("ldr d0", 3), *_lo12_accesses("str x0", 3),
    *_lo12_accesses("ldr q0", 4), *_lo12_accesses("str q1", 4),
    Case("adrp x1, sym\nldr b0, [x1, :lo12:sym]", PAGE),
    Case("adrp x1, sym+7\nldr x0, [x1, :lo12:sym+7]", PAGE, addend=7),  # S misaligned by its addend
    Case("adrp x1, sym\nldr x0, [x1, :lo12:sym]\nstr x0, [x1, :lo12:sym+8]", PAGE),
    Case("add sp, sp, :lo12:sym", ANYWHERE),
    # R_AARCH64_LD_PREL_LO19: literal loads
    Case("ldr x3, sym", LITERAL), Case("ldr w3, sym", LITERAL), Case("ldr s0, sym", LITERAL),
    Case("ldrsw x3, sym", LITERAL), Case("ldr q2, sym", LITERAL), Case("nop\nldr x3, sym+8", LITERAL, addend=8),
    # R_AARCH64_MOVW_UABS_G0..G3 (checked forms must fit their field) and the _NC forms
    Case("movz x0, #:abs_g0:sym", _absolute(16)), Case("movk x0, #:abs_g0_nc:sym", ANYWHERE),
    Case("movz x0, #:abs_g1:sym", _absolute(32)), Case("movk x0, #:abs_g1_nc:sym", ANYWHERE),
    Case("movz x0, #:abs_g2:sym", _absolute(48)), Case("movk x0, #:abs_g2_nc:sym", ANYWHERE),
    Case("movz x0, #:abs_g3:sym", ANYWHERE), Case("movz w0, #:abs_g0:sym", _absolute(16)),
    Case("movz w0, #:abs_g1:sym", _absolute(32)), Case("movk w0, #:abs_g1_nc:sym", ANYWHERE),
    Case("movk x0, #:abs_g0_nc:sym+0x10000", ANYWHERE, addend=0x10000),
    Case("movz x0, #:abs_g1:sym+2\nmovk x0, #:abs_g0_nc:sym+2", _absolute(32), addend=2),
    Case("movz x5, #:abs_g3:sym\nmovk x5, #:abs_g2_nc:sym\nmovk x5, #:abs_g1_nc:sym\nmovk x5, #:abs_g0_nc:sym",
         ANYWHERE),
    # R_AARCH64_ADR_GOT_PAGE, R_AARCH64_LD64_GOT_LO12_NC, R_AARCH64_GOT_LD_PREL19
    Case("adrp x0, :got:sym", GOT_PAGE, got=True),
    Case("ldr x0, [x1, :got_lo12:sym]", GOT_ANYWHERE, got=True, base="x1"),
    Case("adrp x0, :got:sym\nldr x0, [x0, :got_lo12:sym]", GOT_PAGE, got=True),
    Case("ldr x0, :got:sym", GOT_LITERAL, got=True),
    Case("adrp x0, :got:sym\nldr x0, [x0, :got_lo12:sym]\nldr w1, [x0]", GOT_PAGE, got=True),
    # R_AARCH64_ABS64: the literal pool word of `ldr x0, =sym`, next to a constant one
    Case("ldr x0, =sym", ANYWHERE), Case("ldr x0, =sym+8\nldr x1, =0x1122334455667788", ANYWHERE, addend=8),
    Case("ldr x2, =sym\nldr w1, [x2]", ANYWHERE),
]


def _randomise(memory: dict[int, int], rng: random.Random, address: int) -> None:
    for byte in range(max(0, address - WINDOW), address + WINDOW):
        memory.setdefault(byte, rng.getrandbits(8))


def symbol_state(case: Case) -> Callable[[random.Random, int], ConcreteState]:
    """States for `case`: random registers, the symbol (and GOT entry) placed as a linker could place
    them, and random bytes wherever the form may read."""
    reads = "ldr" in case.form or "str" in case.form

    def make(rng: random.Random, _: int) -> ConcreteState:
        pointers = {case.base: DATA_BASE + 0x1000 * rng.randrange(1, 8)} if case.base else None
        state = random_state(rng, pointers)
        referenced = case.place(rng)
        if case.got:
            symbol = ANYWHERE(rng)
            state.symbols = {"sym": symbol, "sym@got": referenced}
            state.memory.update({referenced + i: symbol >> 8 * i & 0xFF for i in range(8)})  # G holds S
            if case.form.endswith("[x0]"):  # the form goes on to load from the symbol
                _randomise(state.memory, rng, symbol)
        else:
            state.symbols = {"sym": (referenced - case.addend) % (1 << 64)}
        if reads and case.base:  # the access is at the pointer plus the low 12 bits of the address
            _randomise(state.memory, rng, state.registers[case.base] + (referenced & 0xFFF))
        elif reads:
            _randomise(state.memory, rng, referenced)
        return state

    return make


def test_every_relocation_type_has_a_differential_form():
    """Each data relocation of symbols.FIELDS appears in CASES (calls are tested with the call model)."""
    types = {
        "adr ": "R_AARCH64_ADR_PREL_LO21", ":pg_hi21_nc:": "R_AARCH64_ADR_PREL_PG_HI21_NC",
        "adrp x0, sym": "R_AARCH64_ADR_PREL_PG_HI21", "add x0, x1, :lo12:": "R_AARCH64_ADD_ABS_LO12_NC",
        "ldrb w0, [x1, :lo12:": "R_AARCH64_LDST8_ABS_LO12_NC", "ldrh w0, [x1, :lo12:": "R_AARCH64_LDST16_ABS_LO12_NC",
        "ldr w0, [x1, :lo12:": "R_AARCH64_LDST32_ABS_LO12_NC", "ldr x0, [x1, :lo12:": "R_AARCH64_LDST64_ABS_LO12_NC",
        "ldr q0, [x1, :lo12:": "R_AARCH64_LDST128_ABS_LO12_NC", "ldr x3, sym": "R_AARCH64_LD_PREL_LO19",
        ":abs_g0:": "R_AARCH64_MOVW_UABS_G0", ":abs_g0_nc:": "R_AARCH64_MOVW_UABS_G0_NC",
        ":abs_g1:": "R_AARCH64_MOVW_UABS_G1", ":abs_g1_nc:": "R_AARCH64_MOVW_UABS_G1_NC",
        ":abs_g2:": "R_AARCH64_MOVW_UABS_G2", ":abs_g2_nc:": "R_AARCH64_MOVW_UABS_G2_NC",
        ":abs_g3:": "R_AARCH64_MOVW_UABS_G3", "adrp x0, :got:": "R_AARCH64_ADR_GOT_PAGE",
        ":got_lo12:": "R_AARCH64_LD64_GOT_LO12_NC", "ldr x0, :got:": "R_AARCH64_GOT_LD_PREL19",
        "ldr x0, =sym": "R_AARCH64_ABS64",
    }
    assert set(FIELDS) - CALL_RELOCATIONS <= set(types.values()), "a data relocation without a form here"
    for text in types:
        assert any(text in case.form for case in CASES), text


@pytest.mark.parametrize("case", CASES, ids=str)
def test_symbol_references_agree_with_unicorn(case):
    problems = disagreements_over(case.form, symbol_state(case), STATES_PER_FORM)
    assert not problems, "\n".join(problems[:10])


# The extremes of each PC-relative field, for an instruction at CODE_BASE: the sign of the encoded
# distance must survive the trip through link() and the CPU's decoding.
REACH_EDGES = [
    ("adr x0, sym", False, [CODE_BASE - MIB, CODE_BASE + MIB - 1]),
    ("ldr x3, sym", False, [CODE_BASE - MIB, CODE_BASE + MIB - 4]),
    ("adrp x0, sym", False, [CODE_BASE - FOUR_GIB, CODE_BASE - FOUR_GIB + 0xFFF, CODE_BASE + FOUR_GIB - 1]),
    ("ldr x0, :got:sym", True, [CODE_BASE - MIB, CODE_BASE + MIB - 8]),
    ("adrp x0, :got:sym", True, [CODE_BASE - FOUR_GIB, CODE_BASE + FOUR_GIB - 8]),
]


def _at(addresses: list[int]) -> Callable[[random.Random], int]:
    remaining = itertools.cycle(addresses)
    return lambda _: next(remaining)


@pytest.mark.parametrize("form, got, addresses", REACH_EDGES, ids=[edge[0] for edge in REACH_EDGES])
def test_reach_edges_agree_with_unicorn(form, got, addresses):
    case = Case(form, _at(addresses), got=got)
    problems = disagreements_over(form, symbol_state(case), len(addresses))
    assert not problems, "\n".join(problems[:10])


@pytest.mark.parametrize("form, got, addresses", REACH_EDGES, ids=[edge[0] for edge in REACH_EDGES])
def test_one_step_beyond_reach_does_not_link(form, got, addresses):
    program = assemble(clean(form))
    name = "sym@got" if got else "sym"
    step = 0x1000 if "adrp" in form else 8 if got else 4 if "ldr" in form else 1
    for address in (min(addresses) - step, max(addresses) + step):
        with pytest.raises(ValueError, match="out of reach"):
            linked_for_replay(program, {"sym": 0x1000, name: address})
