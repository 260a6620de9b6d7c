"""Machine code -> the snippet's control-flow graph of pyvex IRSBs, with every successor classified.

pyvex ends a block at every branch. Starting at offset 0 we lift a block, look at where its conditional
exits and its final jump go, and lift a block at every internal target. Each successor becomes a
`Target`: another block, the end of the snippet (falling off it), an external label (the branch carries
a relocation: the assembler encoded it as a branch to itself), or an indirect jump (`ret`, `br`).

A backward branch (`backward=True`) closes a loop; the symbolic executor unrolls loops to a bound.

An instruction that references a symbol (`adrp`, `:lo12:`, ...) is lifted as a block of its own, so
that VEX cannot fold its constant into the next instruction, and the one constant its relocated field
produces is recorded (`Block.symbol`) for the executor to replace by the linked value (symbols.py).
So is an instruction whose IR does not say what it means (semantics/encodings.py): its block carries
the instruction's `meaning` for the FP ops, or the `fused` multiply-add the executor runs instead of
the IR. Alone in its block, nothing of its IR can leak into a neighbour's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import pyvex

if TYPE_CHECKING:
    from .assemble import Program
from . import symbols
from .errors import NotModelled
from .semantics import encodings
from .semantics.encodings import FusedMultiplyAdd, Meaning
from .semantics.state import ARCH
from .symbols import SymbolReference

# Relocations a branch to an undefined label leaves; any other relocation is a symbol reference we do
# not model yet (adrp/add :lo12:, literal loads).
BRANCH_RELOCATIONS = {"R_AARCH64_JUMP26", "R_AARCH64_CONDBR19", "R_AARCH64_TSTBR14"}
CALL_RELOCATIONS = {"R_AARCH64_CALL26"}

# pyvex turns a division by zero into a trap exit; AArch64 divisions never trap (they give 0).
IMPOSSIBLE_EXITS = {"Ijk_SigFPE_IntDiv"}


@dataclass(frozen=True)
class Target:
    # "bound": a loop ran past the unroll bound; "call": bl/blr, returning to `offset`
    kind: Literal["block", "end", "label", "indirect", "bound", "call"]
    offset: int | None = None  # for "block"; for "call", the return point (may be the end of the code)
    label: str | None = None  # for "label"; for "call", the callee symbol of a `bl` (None: blr)
    backward: bool = False  # for "block": the branch goes back to or before itself (a loop)


@dataclass(frozen=True)
class SymbolConstant:
    """The constant a relocated field produces in its one-instruction block: VEX's value for the
    sentinel field and its width; the executor puts `reference.linked_constant(bits)` in its place."""

    reference: SymbolReference
    value: int
    bits: int


@dataclass(frozen=True)
class LiteralLoad:
    """A literal load (`ldr x0, =c`, `ldr x0, label`) of the snippet's own bytes: the value is known."""

    address: int  # the constant address VEX loads from (the block's address is the instruction's offset)
    value: int
    bits: int
    symbol: SymbolReference | None = None  # a pool word the linker fills in with S: the value is S


@dataclass
class Block:
    start: int
    irsb: pyvex.IRSB
    exit_targets: dict[int, Target | None] = field(default_factory=dict)  # Exit stmt index -> target; None: cannot happen
    next_target: Target = Target("end")
    symbol: SymbolConstant | None = None
    meaning: Meaning | None = None  # the one instruction's meaning, where its VEX ops do not say
    fused: FusedMultiplyAdd | None = None  # the one instruction, run instead of its IR
    literal: LiteralLoad | None = None  # the one instruction loads these bytes of the snippet itself


@dataclass
class ControlFlowGraph:
    blocks: dict[int, Block]  # by start offset
    references: list[SymbolReference] = field(default_factory=list)  # the snippet's symbol references
    size: int = 0  # bytes of code

    def in_order(self) -> list[Block]:
        return [self.blocks[start] for start in sorted(self.blocks)]


def lift(program: Program) -> ControlFlowGraph:
    """Lift every block reachable from offset 0 and classify every control transfer."""
    all_references = symbols.references(program.relocations, BRANCH_RELOCATIONS)  # data and calls
    references = {r.offset: r for r in all_references if r.type not in CALL_RELOCATIONS}

    read_alone: dict[int, Meaning | FusedMultiplyAdd | int] = {}  # offset -> what we know of it (int: literal target)
    for instruction in program.instructions:
        word, offset = instruction.encoding, instruction.offset
        pc_relative = _pc_relative_kind(word)
        if pc_relative == LITERAL_LOAD and offset not in references:
            read_alone[offset] = offset + symbols.signed(word >> 5 & 0x7FFFF, 19) * 4
            continue
        if pc_relative and offset not in references:
            raise NotModelled(f"PC-relative {pc_relative} of a label inside the snippet", offset)
        known = encodings.fused_of(word) or encodings.meaning_of(word)
        if known is not None:
            read_alone[offset] = known
        elif misread := encodings.refused(word):
            raise NotModelled(misread, offset)

    blocks: dict[int, Block] = {}
    to_lift = [0] if program.code else []
    while to_lift:
        start = to_lift.pop()
        if start in blocks:
            continue
        block = _lift_block(program, start, references, read_alone)
        blocks[start] = block
        for target in [*block.exit_targets.values(), block.next_target]:
            returns_inside = target is not None and target.kind == "call" and target.offset < len(program.code)
            if target is not None and target.kind == "block" or returns_inside:
                to_lift.append(target.offset)
    return ControlFlowGraph(blocks, all_references, len(program.code))


def _lift_block(program: Program, start: int, references: dict[int, SymbolReference],
                read_alone: dict[int, Meaning | FusedMultiplyAdd | int]) -> Block:
    code = program.code
    if start in references:
        irsb, symbol = _lift_relocated(program, references[start])
    elif start in read_alone:
        irsb, symbol = _lift_code(code[start:start + 4], start, max_inst=1), None
    else:  # up to the next instruction that gets a block of its own
        end = min([offset for offset in [*references, *read_alone] if offset > start] + [len(code)])
        irsb, symbol = _lift_code(code[start:end], start), None
    if irsb.jumpkind == "Ijk_NoDecode":
        bad = irsb.next.con.value if isinstance(irsb.next, pyvex.expr.Const) else start + irsb.size
        raise NotModelled("instruction that VEX cannot decode", bad)

    block = Block(start, irsb, symbol=symbol)
    known = read_alone.get(start)
    if isinstance(known, int):
        block.literal = _literal_load(program, start, irsb, known, references)
    elif isinstance(known, FusedMultiplyAdd):
        if any(isinstance(stmt, pyvex.stmt.Exit) for stmt in irsb.statements) or irsb.jumpkind != "Ijk_Boring":
            raise NotModelled(f"{known.instruction} that VEX lifts with a control transfer", start)
        block.fused = known
    elif known is not None:
        block.meaning = known
    current = start
    for index, stmt in enumerate(irsb.statements):
        if isinstance(stmt, pyvex.stmt.IMark):
            current = stmt.addr
        elif isinstance(stmt, pyvex.stmt.Exit):
            if stmt.jk in IMPOSSIBLE_EXITS:
                block.exit_targets[index] = None
            elif stmt.jk == "Ijk_Boring":
                block.exit_targets[index] = _direct_target(program, current, stmt.dst.value)
            else:
                raise NotModelled(f"conditional exit of kind {stmt.jk.removeprefix('Ijk_')}", current)

    last = _last_instruction(irsb, start)
    if irsb.jumpkind == "Ijk_Call":
        block.next_target = _call_target(program, last, irsb)
        return block
    if irsb.jumpkind not in ("Ijk_Boring", "Ijk_Ret"):
        raise NotModelled(f"control transfer of kind {irsb.jumpkind.removeprefix('Ijk_')}", last)
    if isinstance(irsb.next, pyvex.expr.Const):
        block.next_target = _direct_target(program, last, irsb.next.con.value)
    elif _is_register_branch(program.code, last):
        block.next_target = Target("indirect")
    else:  # the lifter left a direct successor unfolded: never guess where it goes
        raise NotModelled("block successor that is not a constant", last)
    return block


def _lift_code(code: bytes, address: int, max_inst: int | None = None) -> pyvex.IRSB:
    return pyvex.lift(code, address, ARCH, max_bytes=len(code), max_inst=max_inst, opt_level=1)


def _sentinels(bits: int) -> tuple[int, int]:
    """Two field values that differ in every bit, with a pattern unlikely to occur as another constant."""
    first = int("1010010110" * 7, 2) & ((1 << bits) - 1)
    return first, first ^ ((1 << bits) - 1)


def _lift_relocated(program: Program, reference: SymbolReference) -> tuple[pyvex.IRSB, SymbolConstant | None]:
    """Lift a relocated instruction alone, with a sentinel in its field, and find the one constant the
    field produces. Both sentinels must give the same IR but for that constant, and the constant must be
    what the field means; anything else is not modelled (never a guess about what VEX did)."""
    offset, field_ = reference.offset, reference.field
    word = program.instructions[offset // 4].encoding
    lifted = []
    for sentinel in _sentinels(field_.bits):
        irsb = _lift_code(field_.encode(word, sentinel).to_bytes(4, "little"), offset, max_inst=1)
        if irsb.jumpkind != "Ijk_Boring":
            raise NotModelled(f"{reference.type} on an instruction VEX lifts as {irsb.jumpkind}", offset)
        lifted.append((sentinel, irsb, _constants(irsb, offset)))
    (first, irsb, constants), (second, _, other_constants) = lifted
    what = f"{reference.type} against {reference.symbol}"
    if len(constants) != len(other_constants):
        raise NotModelled(f"{what}: the field changes the instruction's IR", offset)
    differing = [i for i, (a, b) in enumerate(zip(constants, other_constants)) if a.value != b.value]
    if not differing:  # the field does not matter to the IR (prfm): nothing to replace
        if _ir_text(irsb) != _ir_text(lifted[1][1]):
            raise NotModelled(f"{what}: the field changes the instruction's IR", offset)
        return irsb, None
    if len(differing) > 1:
        raise NotModelled(f"{what}: the field yields several constants", offset)
    constant, other = constants[differing[0]], other_constants[differing[0]]
    bits = constant.size
    mask = (1 << bits) - 1
    if (constant.value != field_.constant(first, offset, word) & mask
            or other.value != field_.constant(second, offset, word) & mask
            or sum(c.value == constant.value and c.size == bits for c in constants) != 1
            or _ir_text(irsb).replace(str(constant), "K") != _ir_text(lifted[1][1]).replace(str(other), "K")):
        raise NotModelled(f"{what}: VEX's IR for the field is not the expected constant", offset)
    return irsb, SymbolConstant(reference, constant.value, bits)


def _literal_load(program: Program, offset: int, irsb: pyvex.IRSB, target: int,
                  references: dict[int, SymbolReference]) -> LiteralLoad | None:
    """The bytes a literal load reads from the snippet (its code or its literal pool), which must be
    fixed: inside the snippet, not an instruction a relocation changes. None for a prefetch (no load)."""
    loads = [expr for stmt in irsb.statements for expr in stmt.expressions if isinstance(expr, pyvex.expr.Load)]
    if not loads:
        return None
    image = program.code + program.pool
    (load,) = loads if len(loads) == 1 else (None,)
    if load is None or not isinstance(load.addr, pyvex.expr.Const) or load.addr.con.value != target:
        raise NotModelled("literal load that VEX lifts in an unexpected way", offset)
    size = pyvex.const.get_type_size(load.ty) // 8
    if not (0 <= target and target + size <= len(image)):
        raise NotModelled(f"literal load from offset {target:#x}, outside the snippet", offset)
    if load.end != "Iend_LE":
        raise NotModelled("big-endian memory access", offset)
    pool_word = references.get(target)
    if pool_word is not None and pool_word.field.data and size == 8:  # `ldr xN, =sym`: the value is sym
        return LiteralLoad(target, 0, 64, pool_word)
    linked_size = {r.offset: 8 if r.field.data else 4 for r in references.values()}
    if any(target < relocated + linked_size.get(relocated, 4) and relocated < target + size
           for relocated in program.relocations):
        raise NotModelled("literal load of bytes the linker fills in", offset)
    return LiteralLoad(target, int.from_bytes(image[target:target + size], "little"), size * 8)


def _ir_text(irsb: pyvex.IRSB) -> str:
    return "\n".join(str(stmt) for stmt in irsb.statements) + f"\nnext {irsb.next}"


def _constants(irsb: pyvex.IRSB, offset: int) -> list:
    """Every IRConst in the block's expressions, in a fixed order (pyvex's own lists count some twice)."""
    found = []

    def walk(expr) -> None:
        if isinstance(expr, pyvex.expr.Const):
            found.append(expr.con)
        elif isinstance(expr, (pyvex.expr.Unop, pyvex.expr.Binop, pyvex.expr.Triop, pyvex.expr.Qop, pyvex.expr.CCall)):
            for arg in expr.args:
                walk(arg)
        elif isinstance(expr, pyvex.expr.Load):
            walk(expr.addr)
        elif isinstance(expr, pyvex.expr.ITE):
            for part in (expr.cond, expr.iftrue, expr.iffalse):
                walk(part)
        elif not isinstance(expr, (pyvex.expr.Get, pyvex.expr.RdTmp)):
            raise NotModelled(f"VEX expression {type(expr).__name__} in a relocated instruction", offset)

    for stmt in irsb.statements:
        if isinstance(stmt, (pyvex.stmt.IMark, pyvex.stmt.NoOp, pyvex.stmt.AbiHint)):
            continue
        if isinstance(stmt, (pyvex.stmt.WrTmp, pyvex.stmt.Put)):
            walk(stmt.data)
        elif isinstance(stmt, pyvex.stmt.Store):
            walk(stmt.addr)
            walk(stmt.data)
        else:
            raise NotModelled(f"VEX statement {type(stmt).__name__} in a relocated instruction", offset)
    walk(irsb.next)
    return found


def _call_target(program: Program, instruction: int, irsb: pyvex.IRSB) -> Target:
    """`bl sym` (a relocation names the callee) or `blr xN` (the callee is the register's value)."""
    relocation = program.relocations.get(instruction)
    if isinstance(irsb.next, pyvex.expr.Const):
        if relocation is None or relocation.type not in CALL_RELOCATIONS or irsb.next.con.value != instruction:
            raise NotModelled("call to a label inside the snippet", instruction)
        if relocation.addend:
            raise NotModelled(f"call to {relocation.symbol}{relocation.addend:+d} (an offset into a function)", instruction)
        return Target("call", offset=instruction + 4, label=relocation.symbol)
    if not _is_register_branch(program.code, instruction):
        raise NotModelled("call whose target is not a register", instruction)
    return Target("call", offset=instruction + 4)


def _is_register_branch(code: bytes, offset: int) -> bool:
    """br / blr / ret and their variants: the 'unconditional branch (register)' encoding class."""
    word = int.from_bytes(code[offset:offset + 4], "little")
    return word >> 25 == 0b1101011


LITERAL_LOAD = "literal load (ldr label)"


def _pc_relative_kind(word: int) -> str | None:
    """adr/adrp and literal loads read the program counter, whose value the model does not fix."""
    if word & 0x1F000000 == 0x10000000:
        return "address (adr/adrp)"
    if word & 0x3B000000 == 0x18000000:
        return LITERAL_LOAD
    return None


def _last_instruction(irsb: pyvex.IRSB, start: int) -> int:
    marks = [s.addr for s in irsb.statements if isinstance(s, pyvex.stmt.IMark)]
    return marks[-1] if marks else start


def _direct_target(program: Program, instruction: int, target: int) -> Target:
    """Classify a constant branch target taken by the instruction at `instruction`."""
    relocation = program.relocations.get(instruction)
    if relocation is not None and target == instruction:
        label = relocation.symbol if relocation.addend == 0 else f"{relocation.symbol}{relocation.addend:+d}"
        return Target("label", label=label)
    if target == len(program.code):
        return Target("end")
    if target > len(program.code) or target < 0:
        raise NotModelled(f"branch outside the snippet to offset {target:#x}", instruction)
    return Target("block", offset=target, backward=target <= instruction)
