"""Assemble stage: the cleaned statements -> AArch64 machine code, with GNU as as the reference assembler.

One `as` subprocess per snippet, in a temporary directory. Every statement is written on its own line,
prefixed by a marker label (`__a64eq_s17:`), so that

* an assembler message `snippet.s:18: Error: ...` names generated line 18 = statement 17, whose user line
  and column we know;
* the marker's value in the symbol table is the byte offset of that statement, which gives each
  instruction's offset and each user label's offset without trusting gas's own label bookkeeping.

From the object file we read `.text` (the code), the marker symbols, and `.rela.text`: references to
symbols the snippet does not define. Those are the snippet's *external labels* (exits), never an error:
the assembler leaves `b elsewhere` as `b .` plus a relocation, which is why we report relocations
instead of trusting the bytes.
"""

from __future__ import annotations

import functools
import os
import platform
import re
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass

from elftools.elf.enums import ENUM_RELOC_TYPE_AARCH64

from .errors import NotModelled, SnippetError
from .result import ErrorKind
from .text import Snippet, Statement

MARKER_PREFIX = "__a64eq_s"
RESERVED_PREFIX = "__a64eq_"  # user symbols may not start with this: it could collide with a marker

# The newest base architecture binutils 2.40 knows, plus every extension it accepts (checked one by one),
# so that any valid A64 instruction assembles; what the later stages cannot model is reported as
# `unsupported` there, rather than as an input error here.
ARCHITECTURE = (
    "armv9.3-a+crypto+sha3+sm4+fp16fml+rcpc+memtag+ls64+mops+sve2-aes+sve2-sha3+sve2-sm4+sve2-bitperm"
    "+f32mm+f64mm+i8mm+bf16+rng+sb+ssbs+predres+tme+cssc+sme+profile"
)
_CROSS_ASSEMBLERS = ("aarch64-linux-gnu-as", "aarch64-none-linux-gnu-as", "aarch64-none-elf-as", "aarch64-elf-as")
_SOURCE_NAME = "snippet.s"

# Assembler message -> error kind. First match wins, so specific patterns come before general ones.
# Collected by feeding gas 2.40 broken instructions; the comment shows a message each pattern is for.
ERROR_KINDS: tuple[tuple[re.Pattern[str], ErrorKind], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        (r"unknown mnemonic", "opcode"),  # unknown mnemonic `addd' -- `addd x0,x1,x2'
        (r"selected processor does not support", "opcode"),  # an extension we do not enable
        (r"unknown pseudo-op", "directive"),  # a lone `.` (named directives are screened by text.clean)
        (r"already defined", "label"),  # symbol `foo' is already defined
        (r"backward ref to unknown label", "label"),  # backward ref to unknown label "3:"
        (r"local label .* is not defined", "label"),  # local label `"1" (instance number 1 of a fb label)' ...
        (r"branch out of range", "label"),  # conditional branch out of range
        # a register name where gas wanted a number: `mov x0, x33`, `add x0, x1, q2`
        (r"undefined symbol (?:[xwbhsdqvzp]\d+|w?sp|[xw]zr) used as an immediate", "register"),
        (r"unexpected register in the immediate operand", "operand"),  # add x0,x1,x2,
        (r"element index", "register"),  # register element index out of range 0 to 3
        (r"element size", "register"),  # unexpected character `q' in element size
        (r"immediate", "immediate"),  # immediate value out of range 0 to 63 / immediate cannot be moved by a
        # single instruction / immediate offset out of range / undefined symbol foo used as an immediate value
        (r"shift amount|shift count", "immediate"),  # shift amount must be a multiple of 16
        (r"floating-point constant", "immediate"),  # invalid floating-point constant (fmov d0, #0.1)
        (r"constant expression required", "immediate"),  # dmb foo / prfm foo, [x0]
        (r"post-increment amount", "immediate"),  # invalid post-increment amount (ld1 ... [x0], #8)
        (r"out of range", "immediate"),
        # must be an integer register / 64-bit integer or SP register expected / invalid register list /
        # unknown or missing system register name / reg pair must start from even reg
        (r"register|\breg\b", "register"),
        # comma expected between operands / invalid address / operand mismatch / unexpected characters
        # following instruction / ']' expected / bad expression / missing operand; zero assumed /
        # invalid condition / 'ROR' operator not allowed / unknown or missing operation name (dc foo, x0) /
        # junk at end of line / stray `\' / Unary operator ! ignored because bad operand follows
        (r"comma expected|invalid address|operand|unexpected character|expected|bad expression|missing"
         r"|condition|operator not allowed|junk|stray", "operand"),
    )
)

_REGISTER_NAME = re.compile(r"(?:[xwbhsdqvzp]\d+|w?sp|[xw]zr|lr|fp|ip[01])", re.IGNORECASE)
_DIAGNOSTIC = re.compile(
    rf"^{re.escape(_SOURCE_NAME)}:(?:(?P<line>\d+):)? (?P<severity>Error|Warning): (?P<message>.*)$"
)
_INFO = re.compile(rf"^{re.escape(_SOURCE_NAME)}:\d+: Info:\s*(?P<message>.*)$")
_UNDEFINED_NUMERIC_LABEL = re.compile(r'local label `"(\d+)" \(instance number \d+ of a fb label\)')


@dataclass(frozen=True)
class AssembledInstruction:
    offset: int  # byte offset in the snippet
    line: int  # user's line
    text: str  # statement text
    encoding: int  # the 32-bit little-endian word


@dataclass(frozen=True)
class Relocation:
    offset: int  # offset of the instruction that references the symbol
    type: str  # e.g. "R_AARCH64_CONDBR19", "R_AARCH64_JUMP26", "R_AARCH64_ADR_PREL_PG_HI21"
    symbol: str
    addend: int


@dataclass
class Program:
    code: bytes
    instructions: list[AssembledInstruction]  # offset order; one per 4 bytes of code
    labels: dict[str, int]  # labels defined in the snippet -> offset; a redefined `1:` is "1 (line 7)"
    # instruction offset (or literal pool offset, for `ldr x0, =sym`) -> reference to a symbol not defined in the snippet
    relocations: dict[int, Relocation]
    pool: bytes = b""  # the literal pool (`ldr x0, =constant`) gas places after the last instruction

    def line_of(self, offset: int) -> int | None:
        """The user's line of the instruction at (or containing) byte `offset`, None outside the code."""
        if 0 <= offset < 4 * len(self.instructions):
            return self.instructions[offset // 4].line
        return None

    @property
    def external_labels(self) -> list[str]:
        """Symbols the snippet branches to (or otherwise references) without defining them."""
        return sorted({relocation.symbol for relocation in self.relocations.values()})


@dataclass(frozen=True)
class _Diagnostic:
    """One `Error:`/`Warning:` line from gas, with the statement it is about (None if gas gave no line)."""

    statement: Statement | None
    severity: str
    message: str


@functools.lru_cache(maxsize=1)
def _assembler_path() -> str:
    """The AArch64 GNU assembler: a cross `as`, or the native one on an AArch64 Linux host."""
    for name in _CROSS_ASSEMBLERS:
        path = shutil.which(name)
        if path:
            return path
    if platform.system() == "Linux" and platform.machine() in ("aarch64", "arm64") and shutil.which("as"):
        return shutil.which("as")
    raise RuntimeError(
        "GNU as for AArch64 was not found on PATH (looked for "
        + ", ".join(_CROSS_ASSEMBLERS)
        + "); install it with `apt-get install binutils-aarch64-linux-gnu`"
    )


@functools.lru_cache(maxsize=1)
def assembler_version() -> str:
    """The assembler's version line and our -march, e.g. for cache keys: both change what assembles."""
    completed = subprocess.run(
        [_assembler_path(), "--version"], capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"}
    )
    first_line = completed.stdout.splitlines()[0] if completed.stdout else "unknown assembler"
    return f"{first_line}; -march={ARCHITECTURE}"


def classify(message: str) -> ErrorKind:
    """The error kind of one gas message (see ERROR_KINDS)."""
    for pattern, kind in ERROR_KINDS:
        if pattern.search(message):
            return kind
    return "other"


def _check_symbols(snippet: Snippet) -> None:
    """Reject what gas would accept silently: reserved names, and a label defined twice at one address.

    (gas reports `already defined` only when the two definitions are at different addresses.)
    """
    first_definition: dict[str, Statement] = {}
    for statement in snippet.statements:
        reserved_at = statement.text.find(RESERVED_PREFIX)
        if reserved_at >= 0:
            raise SnippetError(
                "label",
                f"names starting with {RESERVED_PREFIX} are reserved for the checker",
                statement.line,
                statement.column + reserved_at,
            )
        name = statement.label
        if name is None or name.isdigit():
            continue  # numeric labels (`1:`) may be redefined; `1b`/`1f` pick the nearest one
        if name in first_definition:
            raise SnippetError(
                "label",
                f"label `{name}` is already defined on line {first_definition[name].line}",
                statement.line,
                statement.column,
            )
        first_definition[name] = statement


def _parse_diagnostics(stderr: str, snippet: Snippet) -> list[_Diagnostic]:
    """gas's stderr -> diagnostics tied to statements, with gas's first "did you mean" suggestion appended."""
    diagnostics: list[_Diagnostic] = []
    infos = [_INFO.match(line) for line in stderr.splitlines()]
    for index, line in enumerate(stderr.splitlines()):
        match = _DIAGNOSTIC.match(line)
        if match is None:
            continue
        message = match["message"].strip()
        follow_up = [info["message"] for info in infos[index + 1:index + 3] if info]
        if len(follow_up) == 2 and follow_up[0] == "did you mean this?":
            message += f"; did you mean `{follow_up[1]}`?"
        generated_line = int(match["line"]) if match["line"] else None
        if generated_line is None:
            statement = _find_numeric_reference(message, snippet)
        elif generated_line <= len(snippet.statements):
            statement = snippet.statements[generated_line - 1]
        else:
            statement = None
        diagnostics.append(_Diagnostic(statement, match["severity"], message))
    return diagnostics


def _find_numeric_reference(message: str, snippet: Snippet) -> Statement | None:
    """For `local label "1" ... is not defined` (which gas reports without a line): the first `1f`/`1b` use."""
    undefined = _UNDEFINED_NUMERIC_LABEL.search(message)
    if undefined is None:
        return None
    reference = re.compile(rf"(?<![\w.$]){undefined[1]}[fb]\b")
    for statement in snippet.statements:
        if statement.label is None and reference.search(statement.text):
            return statement
    return None


def _first_error(diagnostics: list[_Diagnostic]) -> SnippetError | None:
    """The error to report: the earliest by user line, among errors and warnings that signal bad input.

    Warnings count as errors (e.g. `missing operand; zero assumed`: gas guessed) except "unpredictable"
    ones, which describe valid encodings whose behaviour the architecture leaves open (see
    `_unpredictable`).
    """
    bad_input = [d for d in diagnostics if d.severity == "Error" or "unpredictable" not in d.message]
    if not bad_input:
        return None
    # gas prints some errors (fix-ups such as `immediate out of range`) after all the others
    first = min(bad_input, key=lambda d: (d.statement.line, d.statement.column) if d.statement else (float("inf"), 0))
    line = first.statement.line if first.statement else None
    column = first.statement.column if first.statement else None
    return SnippetError(classify(first.message), first.message, line, column)


def _run_assembler(snippet: Snippet, timeout: float) -> tuple[bytes, list[_Diagnostic]]:
    """Write the marked-up source, run gas once, return the object file's bytes and gas's diagnostics."""
    source = "".join(f"{MARKER_PREFIX}{index}: {s.text}\n" for index, s in enumerate(snippet.statements))
    with tempfile.TemporaryDirectory(prefix="a64eq-") as directory:
        source_path = os.path.join(directory, _SOURCE_NAME)
        object_path = os.path.join(directory, "snippet.o")
        with open(source_path, "w", encoding="utf-8", errors="replace") as source_file:
            source_file.write(source)
        try:
            completed = subprocess.run(
                [_assembler_path(), f"-march={ARCHITECTURE}", "-o", object_path, _SOURCE_NAME],
                cwd=directory,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
                env={**os.environ, "LC_ALL": "C"},  # English messages: the kind table matches them
            )
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"the assembler did not finish within {timeout} s") from None
        diagnostics = _parse_diagnostics(completed.stderr, snippet)
        error = _first_error(diagnostics)
        if error is not None:
            raise error
        if completed.returncode != 0:
            raise RuntimeError(f"the assembler failed without a message we understand: {completed.stderr.strip()}")
        with open(object_path, "rb") as object_file:
            return object_file.read(), diagnostics


_RELOCATION_NAMES = {number: name for name, number in ENUM_RELOC_TYPE_AARCH64.items() if name.startswith("R_")}
_RELOCATION_NAMES.setdefault(299, "R_AARCH64_LDST128_ABS_LO12_NC")  # missing from pyelftools' table (AAELF64)
_SHN_UNDEF = 0


@dataclass(frozen=True)
class _Symbol:
    name: str
    value: int
    section_index: int  # 0 (SHN_UNDEF): referenced but not defined


class _ObjectFile:
    """The parts of gas's ELF64 little-endian relocatable object we need, read with `struct`.

    pyelftools parses every symbol through `construct` (about 0.1 ms each); a 256-statement snippet has
    256 marker symbols, which made reading the object take ~20 ms against ~4 ms for running gas.
    Its AArch64 relocation-name table is still used.
    """

    def __init__(self, data: bytes):
        (
            identity, _type, machine, _version, _entry, _program_headers, section_table, _flags,
            _header_size, _program_header_size, _program_header_count, _section_header_size,
            section_count, names_index,
        ) = struct.unpack_from("<16sHHIQQQIHHHHHH", data)
        if identity[:4] != b"\x7fELF" or identity[4] != 2 or identity[5] != 1 or machine != 183:
            raise RuntimeError("the assembler did not produce an ELF64 little-endian AArch64 object")
        self._data = data
        # (name offset, type, flags, address, file offset, size, link, info, alignment, entry size)
        self._sections = [
            struct.unpack_from("<IIQQQQIIQQ", data, section_table + 64 * index) for index in range(section_count)
        ]
        names = self._contents(names_index)
        self._index_by_name = {self._string(names, section[0]): index for index, section in enumerate(self._sections)}

    def _contents(self, index: int) -> bytes:
        section = self._sections[index]
        return self._data[section[4]:section[4] + section[5]]

    @staticmethod
    def _string(table: bytes, offset: int) -> str:
        return table[offset:table.index(b"\0", offset)].decode("utf-8", "replace")

    def section(self, name: str) -> bytes | None:
        index = self._index_by_name.get(name)
        return None if index is None else self._contents(index)

    def symbols(self) -> list[_Symbol]:
        symbol_table = self._index_by_name[".symtab"]
        names = self._contents(self._sections[symbol_table][6])  # sh_link: its string table
        entries = struct.iter_unpack("<IBBHQQ", self._contents(symbol_table))
        return [
            _Symbol(self._string(names, name), value, section_index)
            for name, _info, _other, section_index, value, _size in entries
        ]

    def text_relocations(self) -> list[tuple[int, int, int, int]]:
        """(offset, symbol index, relocation type, addend) for each entry of `.rela.text`."""
        entries = self.section(".rela.text") or b""
        return [
            (offset, info >> 32, info & 0xFFFFFFFF, addend)
            for offset, info, addend in struct.iter_unpack("<QQq", entries)
        ]


def _statement_offsets(symbols: list[_Symbol], snippet: Snippet) -> list[int]:
    """Byte offset of each statement, read from its marker label in the symbol table.

    A missing marker means gas read the statement before it as running on past its line; clean-up rejects
    the one way we know (an unclosed `"`), this keeps any other from shifting every line number silently.
    """
    offsets = {int(s.name[len(MARKER_PREFIX):]): s.value for s in symbols if s.name.startswith(MARKER_PREFIX)}
    for index, statement in enumerate(snippet.statements):
        if index not in offsets:
            previous = snippet.statements[max(index - 1, 0)]
            raise SnippetError("other", "the assembler read this statement as running into the next line",
                               previous.line, previous.column)
    return [offsets[index] for index in range(len(snippet.statements))]


def _read_relocations(
    object_file: _ObjectFile, symbols: list[_Symbol], instruction_at: dict[int, Statement]
) -> dict[int, Relocation]:
    """References to symbols the snippet does not define, by instruction offset.

    A relocation against a symbol the snippet does define (`adrp x0, mylabel`) asks for the label's
    absolute address, which the equivalence model has no value for: NotModelled.
    """
    relocations: dict[int, Relocation] = {}
    for offset, symbol_index, type_number, addend in object_file.text_relocations():
        symbol = symbols[symbol_index]
        kind = _RELOCATION_NAMES.get(type_number, f"R_AARCH64_{type_number}")
        if symbol_index == 0:  # no symbol at all: a numeric address, as in `adrp x0, 4096`
            raise NotModelled(f"a reference to an absolute address ({kind})", offset)
        if symbol.section_index != _SHN_UNDEF:
            raise NotModelled(f"the address of a label inside the snippet ({kind})", offset)
        if _REGISTER_NAME.fullmatch(symbol.name):
            statement = instruction_at[offset]
            raise SnippetError(
                "register",
                f"`{symbol.name}` is a register, not a label (a branch to a register is `br {symbol.name}`)",
                statement.line,
                statement.column,
            )
        if offset not in instruction_at and kind != "R_AARCH64_ABS64":  # in the literal pool, not `ldr x0, =sym`
            raise NotModelled(f"{kind} reference to symbol {symbol.name} in a literal pool",
                              _literal_load_of(offset, instruction_at))
        relocations[offset] = Relocation(offset, kind, symbol.name, addend)
    return relocations


def _literal_load_of(pool_offset: int, instruction_at: dict[int, Statement]) -> int | None:
    """The offset of the instruction whose `=...` operand gas put at `pool_offset`, if one can be found."""
    literal_loads = [offset for offset, statement in sorted(instruction_at.items()) if "=" in statement.text]
    return literal_loads[0] if len(literal_loads) == 1 else None


def _unpredictable(diagnostics: list[_Diagnostic], offset_of: dict[Statement, int]) -> NotModelled | None:
    """gas's "unpredictable" warnings (`ldp x0, x0, [x1]`, `ldr x0, [x0], #8`): behaviour the architecture
    leaves to the implementation, so no single model is exact."""
    for diagnostic in diagnostics:
        if "unpredictable" in diagnostic.message and diagnostic.statement is not None:
            offset = offset_of[diagnostic.statement]
            return NotModelled(f"unpredictable instruction ({diagnostic.message})", offset)
    return None


def assemble(snippet: Snippet, *, timeout: float = 10.0) -> Program:
    """Assemble the statements of `snippet` (as produced by `text.clean`, which rejects directives).

    Memoised per process on the statements: batch grading checks one source block against many answers
    (and models), and a gas run costs milliseconds. Errors are not memoised; they are raised afresh.
    The returned Program is shared between callers: treat it as read-only.
    """
    return _assemble_memoised(tuple(snippet.statements), timeout)


@functools.lru_cache(maxsize=4096)
def _assemble_memoised(statements: tuple[Statement, ...], timeout: float) -> Program:
    return _assemble(Snippet(list(statements)), timeout=timeout)


def _assemble(snippet: Snippet, *, timeout: float = 10.0) -> Program:
    """Assemble the statements of `snippet`.

    Raises SnippetError for input the assembler rejects (kind and user line from its message),
    NotModelled for valid code whose bytes or behaviour we cannot model exactly (literal pools,
    absolute addresses of internal labels, unpredictable encodings), RuntimeError if gas is missing,
    TimeoutError if it does not finish in `timeout` seconds.
    """
    _check_symbols(snippet)
    object_bytes, diagnostics = _run_assembler(snippet, timeout)
    object_file = _ObjectFile(object_bytes)
    code = object_file.section(".text") or b""
    symbols = object_file.symbols()
    offsets = _statement_offsets(symbols, snippet)

    instructions: list[AssembledInstruction] = []
    labels: dict[str, int] = {}
    offset_of: dict[Statement, int] = {}
    instruction_at: dict[int, Statement] = {}
    for statement, offset in zip(snippet.statements, offsets):
        offset_of[statement] = offset
        if statement.label is None:
            instruction_at[offset] = statement
            encoding = int.from_bytes(code[offset:offset + 4], "little")
            instructions.append(AssembledInstruction(offset, statement.line, statement.text, encoding))
        elif statement.label in labels:
            labels[f"{statement.label} (line {statement.line})"] = offset
        else:
            labels[statement.label] = offset

    try:
        code, pool = _split_literal_pool(code, instructions)
        relocations = _read_relocations(object_file, symbols, instruction_at)
        unpredictable = _unpredictable(diagnostics, offset_of)
        if unpredictable is not None:
            raise unpredictable
    except NotModelled as exc:
        statement = instruction_at.get(exc.offset)
        if statement is not None:
            exc.line, exc.instruction = statement.line, statement.text
        raise
    return Program(code, instructions, labels, relocations, pool)


def _split_literal_pool(code: bytes, instructions: list[AssembledInstruction]) -> tuple[bytes, bytes]:
    """(instructions, literal pool): the pool is data after the last instruction (the end of the snippet
    is where the instructions end). Data between instructions (`.ltorg`) is not modelled."""
    end = 4 * len(instructions)
    if len(code) > end and any(instruction.offset != 4 * k for k, instruction in enumerate(instructions)):
        gap = next(4 * k for k, instruction in enumerate(instructions) if instruction.offset != 4 * k)
        raise NotModelled("data between instructions (a literal pool placed by .ltorg)", gap - 4 if gap else None)
    return code[:end], code[end:]
