"""References to symbols the snippet does not define: what the linked instruction computes.

`adrp x0, counter; ldr w1, [x0, :lo12:counter]` leaves relocations in the object file, and the
instruction fields hold zeros until a linker fills them in. Letting VEX read those zeros would model a
different program (and make `adr` depend on where in the snippet it sits). Instead, each symbol is a
free 64-bit address, the same variable in both snippets (the same name is the same address), and
each relocated instruction computes what it computes once linked:

| relocation | instruction | the field's constant, once linked |
|---|---|---|
| ADR_PREL_LO21 | adr xd, S | S |
| ADR_PREL_PG_HI21(_NC) | adrp xd, S | S & ~0xfff |
| ADD_ABS_LO12_NC | add xd, xn, :lo12:S | S & 0xfff |
| LDST{8..128}_ABS_LO12_NC | ldr/str [xn, :lo12:S] | S & 0xfff, low bits the access size drops cleared |
| LD_PREL_LO19 | ldr xd, S (literal) | S (the address loaded from) |
| MOVW_UABS_G0..G3(_NC) | movz/movk #:abs_gK:S | bits 16K..16K+15 of S, in place |
| ADR_GOT_PAGE, LD64_GOT_LO12_NC, GOT_LD_PREL19 | the `:got:` forms | as above, of S's GOT entry G |
| ABS64 | `ldr xd, =S` (a literal pool word) | S, which the literal load gives |

where S is the symbol plus the relocation's addend. A GOT entry is a further free address G (8-aligned,
one per symbol) whose 8 bytes of initial memory hold S: that is what makes `adrp/ldr :got:` agree with
`adrp/add :lo12:`. What the model does not assume: that distinct symbols have distinct addresses
(aliases are legal), and that a symbol is within reach of the code (only replay needs that, and the
counterexample search asks for it). Linker range checks of the checked forms (`:abs_g0:` etc.) are
preconditions: a program that does not link has no behaviour to compare.

How the constant is found in VEX's IR (lift.py): the instruction is lifted alone, twice, with two
complementary sentinel values in its field; exactly one constant may differ, and both must be what
the field means (the `constant` of its `Field`). That constant is then replaced by the linked value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import z3

from .errors import NotModelled

MASK64 = (1 << 64) - 1
GOT_SUFFIX = "@got"


def signed(value: int, bits: int) -> int:
    """`value`, a field of `bits` bits, read as two's complement."""
    return value - (1 << bits) if value >> (bits - 1) & 1 else value


@dataclass(frozen=True)
class Field:
    """Where a relocation puts its value in the instruction, and what VEX's constant is for a field value."""

    bits: int
    encode: Callable[[int, int], int]  # (word, field value) -> word
    constant: Callable[[int, int, int], int]  # (field value, instruction address, word) -> VEX's constant (64-bit)
    linked: Callable[[z3.BitVecRef], z3.BitVecRef]  # the address (S or G) -> the constant once linked
    through_got: bool = False  # the value is of the symbol's GOT entry, not of the symbol
    pc_relative: bool = False  # only reaches addresses near the instruction (replay must respect that)
    reach: int = 0  # for pc_relative: the field's signed range, in units of `unit` bytes
    unit: int = 1
    page: bool = False  # adrp: the distance is counted in 4 KiB pages
    fits: Callable[[z3.BitVecRef], z3.BoolRef] | None = None  # link-time range check of a checked form
    concrete_field: Callable[[int, int], int] | None = None  # (address S or G, instruction address) -> field
    data: bool = False  # a 64-bit word of the literal pool (`ldr x0, =S`), not an instruction field


def _imm12(word: int, value: int) -> int:
    return word & ~(0xFFF << 10) | (value & 0xFFF) << 10


def _imm19(word: int, value: int) -> int:
    return word & ~(0x7FFFF << 5) | (value & 0x7FFFF) << 5


def _imm16(word: int, value: int) -> int:
    return word & ~(0xFFFF << 5) | (value & 0xFFFF) << 5


def _imm21(word: int, value: int) -> int:
    """adr/adrp: immlo in bits 30:29, immhi in bits 23:5."""
    value &= 0x1FFFFF
    return word & ~(0b11 << 29 | 0x7FFFF << 5) | (value & 0b11) << 29 | (value >> 2) << 5


def _adr(got: bool = False) -> Field:
    return Field(
        21, _imm21,
        constant=lambda f, pc, word: (pc + signed(f, 21)) & MASK64,
        linked=lambda address: address,
        through_got=got, pc_relative=True, reach=1 << 20,
        concrete_field=lambda address, pc: address - pc,
    )


def _adrp(got: bool = False) -> Field:
    return Field(
        21, _imm21,
        constant=lambda f, pc, word: ((pc & ~0xFFF) + (signed(f, 21) << 12)) & MASK64,
        linked=lambda address: address & ~z3.BitVecVal(0xFFF, 64),
        through_got=got, pc_relative=True, reach=1 << 20, page=True,
        concrete_field=lambda address, pc: ((address & ~0xFFF) - (pc & ~0xFFF)) >> 12,
    )


def _literal(got: bool = False) -> Field:
    return Field(
        19, _imm19,
        constant=lambda f, pc, word: (pc + 4 * signed(f, 19)) & MASK64,
        linked=lambda address: address,
        through_got=got, pc_relative=True, reach=1 << 18, unit=4,
        concrete_field=lambda address, pc: (address - pc) >> 2,
    )


def _call() -> Field:
    """bl S: the callee is S (lift.py turns the call into an event; only replay links the field)."""
    return Field(
        26, lambda word, value: word & ~0x3FFFFFF | value & 0x3FFFFFF,
        constant=lambda f, pc, word: (pc + 4 * signed(f, 26)) & MASK64,
        linked=lambda address: address,
        pc_relative=True, reach=1 << 25, unit=4,
        concrete_field=lambda address, pc: (address - pc) >> 2,
    )


def _low12(scale: int, got: bool = False) -> Field:
    """:lo12: of an add (scale 0) or of a load/store of 2**scale bytes (the field counts elements)."""
    keep = 0xFFF & ~((1 << scale) - 1)
    return Field(
        12, _imm12,
        constant=lambda f, pc, word: f << scale,
        linked=lambda address: address & z3.BitVecVal(keep, 64),
        through_got=got,
        concrete_field=lambda address, pc: (address & keep) >> scale,
    )


def _movw(group: int, checked: bool) -> Field:
    """movz/movk #:abs_gK:S: bits 16K..16K+15 of S, at the instruction's own shift (hw must be K)."""
    shift = 16 * group
    return Field(
        16, _imm16,
        # the group's own shift, not the instruction's: `movk x0, #:abs_g0_nc:s, lsl #16` puts bits 0-15
        # of S at bits 16-31, which this check then refuses (VEX's constant is not f << shift)
        constant=lambda f, pc, word: f << shift,
        linked=lambda address: address & z3.BitVecVal(0xFFFF << shift, 64),
        fits=(lambda address: z3.LShR(address, shift + 16) == 0) if checked and group < 3 else None,
        concrete_field=lambda address, pc: address >> shift & 0xFFFF,
    )


FIELDS: dict[str, Field] = {
    "R_AARCH64_ADR_PREL_LO21": _adr(),
    "R_AARCH64_ADR_PREL_PG_HI21": _adrp(),
    "R_AARCH64_ADR_PREL_PG_HI21_NC": _adrp(),
    "R_AARCH64_ADD_ABS_LO12_NC": _low12(0),
    "R_AARCH64_LDST8_ABS_LO12_NC": _low12(0),
    "R_AARCH64_LDST16_ABS_LO12_NC": _low12(1),
    "R_AARCH64_LDST32_ABS_LO12_NC": _low12(2),
    "R_AARCH64_LDST64_ABS_LO12_NC": _low12(3),
    "R_AARCH64_LDST128_ABS_LO12_NC": _low12(4),
    "R_AARCH64_LD_PREL_LO19": _literal(),
    "R_AARCH64_MOVW_UABS_G0": _movw(0, True),
    "R_AARCH64_MOVW_UABS_G0_NC": _movw(0, False),
    "R_AARCH64_MOVW_UABS_G1": _movw(1, True),
    "R_AARCH64_MOVW_UABS_G1_NC": _movw(1, False),
    "R_AARCH64_MOVW_UABS_G2": _movw(2, True),
    "R_AARCH64_MOVW_UABS_G2_NC": _movw(2, False),
    "R_AARCH64_MOVW_UABS_G3": _movw(3, False),
    "R_AARCH64_ADR_GOT_PAGE": _adrp(got=True),
    "R_AARCH64_LD64_GOT_LO12_NC": _low12(3, got=True),
    "R_AARCH64_GOT_LD_PREL19": _literal(got=True),
    "R_AARCH64_CALL26": _call(),
    # `ldr x0, =S`: the literal pool holds S; lift.py turns the literal load of it into S itself
    "R_AARCH64_ABS64": Field(64, lambda word, value: value & MASK64, constant=lambda f, pc, word: f,
                             linked=lambda address: address, concrete_field=lambda address, pc: address, data=True),
}


@dataclass(frozen=True)
class SymbolReference:
    """One relocated instruction: which symbol (plus addend), through which relocation."""

    offset: int
    type: str
    symbol: str
    addend: int

    @property
    def field(self) -> Field:
        return FIELDS[self.type]

    @property
    def address_name(self) -> str:
        """The free variable this reference resolves against: the symbol, or its GOT entry."""
        return self.symbol + GOT_SUFFIX if self.field.through_got else self.symbol

    def address(self) -> z3.BitVecRef:
        """S = symbol + addend, or the GOT entry G (whose relocations carry no addend)."""
        base = address_variable(self.address_name)
        return base if self.field.through_got else base + self.addend

    def linked_constant(self, bits: int) -> z3.BitVecRef:
        """The constant VEX sees in this instruction once linked, at the constant's width."""
        value = self.field.linked(self.address())
        return value if bits == 64 else z3.Extract(bits - 1, 0, value)


def address_variable(name: str) -> z3.BitVecRef:
    """The free address of a symbol (or `name@got`, its GOT entry): one Z3 variable per name, shared by
    both snippets because Z3 identifies constants by name."""
    return z3.BitVec("&" + name, 64)


def references(relocations: dict, branch_types: set[str]) -> list[SymbolReference]:
    """The snippet's data references (relocations that are not branches), NotModelled for unknown kinds."""
    found = []
    for offset, relocation in sorted(relocations.items()):
        if relocation.type in branch_types:
            continue
        if relocation.type not in FIELDS:
            raise NotModelled(f"reference to symbol {relocation.symbol} ({relocation.type})", offset)
        reference = SymbolReference(offset, relocation.type, relocation.symbol, relocation.addend)
        if reference.field.through_got and relocation.addend:
            raise NotModelled(f"GOT reference with an addend ({relocation.symbol}{relocation.addend:+d})", offset)
        found.append(reference)
    return found


def address_names(all_references: list[SymbolReference]) -> list[str]:
    """Every symbol and GOT entry the references use (a GOT entry brings its symbol along)."""
    names = set()
    for reference in all_references:
        names.add(reference.symbol)
        names.add(reference.address_name)
    return sorted(names)


def preconditions(all_references: list[SymbolReference], initial_memory: z3.ArrayRef) -> list[z3.BoolRef]:
    """What a linked program guarantees: GOT entries are 8-aligned, distinct, and hold their symbol's
    address; a literal load's address is 4-aligned (its field counts words from a 4-aligned pc);
    checked relocations fit their field."""
    facts = []
    got_entries = sorted({r.symbol for r in all_references if r.field.through_got})
    for symbol in got_entries:
        entry, value = address_variable(symbol + GOT_SUFFIX), address_variable(symbol)
        facts.append(entry & 7 == 0)
        facts += [z3.Select(initial_memory, entry + i) == z3.Extract(8 * i + 7, 8 * i, value) for i in range(8)]
    entries = [address_variable(s + GOT_SUFFIX) for s in got_entries]
    facts += [a != b for i, a in enumerate(entries) for b in entries[i + 1:]]
    for reference in all_references:
        if reference.field.fits is not None:
            facts.append(reference.field.fits(reference.address()))
        if reference.field.unit > 1:
            facts.append(reference.address() & (reference.field.unit - 1) == 0)
    return facts


def reachable_from(all_references: list[SymbolReference], code_base: int) -> list[z3.BoolRef]:
    """Addresses a linker could encode for code placed at `code_base` (PC-relative forms have a range)."""
    facts = []
    for reference in all_references:
        field = reference.field
        if not field.pc_relative:
            continue
        pc = code_base + reference.offset
        target = reference.address()
        if field.page:
            distance = z3.LShR(target, 12) - (pc >> 12)
        else:
            distance = target - pc
            if field.unit > 1:
                facts.append(distance & (field.unit - 1) == 0)
                distance = distance >> (field.unit.bit_length() - 1)  # arithmetic: a signed distance
        facts.append(z3.ULT(distance + field.reach, 2 * field.reach))  # -reach <= distance < reach
    return facts


def link(code: bytes, all_references: list[SymbolReference], addresses: dict[str, int], code_base: int) -> bytes:
    """Fill in every relocated field for code placed at `code_base`, given each symbol's and GOT
    entry's address; ValueError if one cannot be encoded (out of reach, misaligned)."""
    linked = bytearray(code)
    for reference in all_references:
        field = reference.field
        base = addresses[reference.address_name]
        address = base if field.through_got else (base + reference.addend) & MASK64
        pc = code_base + reference.offset
        value = field.concrete_field(address, pc)
        if field.pc_relative:
            field_value = signed(value & MASK64, 64)
            if field.unit > 1 and (address - pc) % field.unit:
                raise ValueError(f"{reference.symbol} at {address:#x} is not {field.unit}-byte aligned for "
                                 f"{reference.type} at offset {reference.offset:#x}")
            if not -field.reach <= field_value < field.reach:
                raise ValueError(f"{reference.symbol} at {address:#x} is out of reach of {reference.type} "
                                 f"at offset {reference.offset:#x} (code at {code_base:#x})")
        size = 8 if field.data else 4
        word = int.from_bytes(linked[reference.offset:reference.offset + size], "little")
        linked[reference.offset:reference.offset + size] = field.encode(word, value).to_bytes(size, "little")
    return bytes(linked)
