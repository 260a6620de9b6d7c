"""Clean-up stage: an LLM's answer -> the assembly statements in it, each with its line in the user's text.

Evaluation scripts send whatever the model wrote: a bare snippet, or a whole answer with markdown code
fences, prose around the code, comments in several styles and compiler directives. `clean` keeps the
statements (instructions and label definitions), drops what is harmless and says so in `Snippet.dropped`,
and rejects what could change how the assembler behaves (`SnippetError(kind="directive")`).

The steps, in order:

1. size limit, line split (LF, CRLF or CR), exotic whitespace made plain;
2. code fences: if there are any, only the last fenced block is code, the rest is dropped;
3. comments: ``/* ... */`` (may span lines), ``//`` to end of line, and whole lines starting with ``#`` or
   ``;``;
4. prose: without fences, leading and trailing lines that read like English sentences are dropped;
   anything in between is kept, so that a mistyped instruction reaches the assembler and fails there;
5. statements: ``;`` separates statements (as in GNU as for AArch64) when the part after it starts with a
   mnemonic, otherwise the rest of the line is a comment; label definitions become their own statements;
   directives are dropped (harmless ones) or rejected, as are symbol assignments (`x = 5`), register
   aliases (`.req`), double quotes and control characters.

Columns count characters (a tab is one column), 1-based, in the user's original line.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from .errors import SnippetError

MAX_BYTES = 65536
MAX_STATEMENTS = 256


@dataclass(frozen=True)
class Statement:
    line: int  # 1-based line in the user's original text
    column: int  # 1-based column where the statement starts in that line
    text: str  # the statement, comments removed, whitespace trimmed; a label definition is its own statement

    @property
    def label(self) -> str | None:
        """The label name if this statement defines a label (`foo:` -> `foo`), else None."""
        definition = _LABEL_STATEMENT.fullmatch(self.text)
        return definition.group(1) if definition else None


@dataclass
class Snippet:
    statements: list[Statement]
    dropped: list[str] = field(default_factory=list)  # human-readable notes of what clean-up removed


# --- mnemonics --------------------------------------------------------------------------------------
# A64 base, FP and Advanced SIMD mnemonics and their common aliases, plus the usual extensions (LSE atomics,
# CRC, crypto, pointer authentication, MTE, TME, MOPS). Used to decide whether the text after a `;` is a
# statement or a comment, and whether a leading/trailing line is code or prose. SVE/SME mnemonics are left
# out: they are not expected after a `;` in a basic block rewrite, and the assembler still accepts them
# on lines of their own.
_BASE_MNEMONICS = """
adc adcs add adds addg adr adrp and ands asr asrv at autda autdb autdza autdzb autia autia1716 autiasp
autiaz autib autib1716 autibsp autibz autiza autizb axflag b bfc bfi bfm bfxil bic bics bl blr blraa blraaz
blrab blrabz br braa braaz brab brabz brk bti cas casa casab casah casal casalb casalh casb cash casl caslb
caslh casp caspa caspal caspl cbnz cbz ccmn ccmp cfinv cfp cinc cinv clearbhb clrex cls clz cmn cmp cmpp
cneg cpp crc32b crc32cb crc32ch crc32cw crc32cx crc32h crc32w crc32x csdb csel cset csetm csinc csinv csneg
dc dcps1 dcps2 dcps3 dgh dmb drps dsb dvp eon eor eret eretaa eretab esb extr gmi hint hlt hvc ic irg isb
ld64b ldadd ldadda ldaddab ldaddah ldaddal ldaddalb ldaddalh ldaddb ldaddh ldaddl ldaddlb ldaddlh ldapr
ldaprb ldaprh ldapur ldapurb ldapurh ldapursb ldapursh ldapursw ldar ldarb ldarh ldaxp ldaxr ldaxrb ldaxrh
ldclr ldclra ldclrab ldclrah ldclral ldclralb ldclralh ldclrb ldclrh ldclrl ldclrlb ldclrlh ldeor ldeora
ldeorab ldeorah ldeoral ldeoralb ldeoralh ldeorb ldeorh ldeorl ldeorlb ldeorlh ldg ldgm ldlar ldlarb ldlarh
ldnp ldp ldpsw ldr ldraa ldrab ldrb ldrh ldrsb ldrsh ldrsw ldset ldseta ldsetab ldsetah ldsetal ldsetalb
ldsetalh ldsetb ldseth ldsetl ldsetlb ldsetlh ldsmax ldsmaxa ldsmaxab ldsmaxah ldsmaxal ldsmaxalb ldsmaxalh
ldsmaxb ldsmaxh ldsmaxl ldsmaxlb ldsmaxlh ldsmin ldsmina ldsminab ldsminah ldsminal ldsminalb ldsminalh
ldsminb ldsminh ldsminl ldsminlb ldsminlh ldtr ldtrb ldtrh ldtrsb ldtrsh ldtrsw ldumax ldumaxa ldumaxab
ldumaxah ldumaxal ldumaxalb ldumaxalh ldumaxb ldumaxh ldumaxl ldumaxlb ldumaxlh ldumin ldumina lduminab
lduminah lduminal lduminalb lduminalh lduminb lduminh lduminl lduminlb lduminlh ldur ldurb ldurh ldursb
ldursh ldursw ldxp ldxr ldxrb ldxrh lsl lslv lsr lsrv madd mneg mov movk movn movz mrs msr msub mul mvn neg
negs ngc ngcs nop orn orr pacda pacdb pacdza pacdzb pacga pacia pacia1716 paciasp paciaz pacib pacib1716
pacibsp pacibz paciza pacizb prfm prfum psb pssbb rbit ret retaa retab rev rev16 rev32 rev64 rmif ror rorv
sb sbc sbcs sbfiz sbfm sbfx sdiv setf8 setf16 sev sevl smaddl smnegl smc smsubl smulh smull ssbb st2g st64b
st64bv st64bv0 stadd staddb staddh staddl staddlb staddlh stclr stclrb stclrh stclrl stclrlb stclrlh steor
steorb steorh steorl steorlb steorlh stg stgm stgp stllr stllrb stllrh stlr stlrb stlrh stlur stlurb stlurh
stlxp stlxr stlxrb stlxrh stnp stp str strb strh stset stsetb stseth stsetl stsetlb stsetlh stsmax stsmaxb
stsmaxh stsmaxl stsmaxlb stsmaxlh stsmin stsminb stsminh stsminl stsminlb stsminlh sttr sttrb sttrh stumax
stumaxb stumaxh stumaxl stumaxlb stumaxlh stumin stuminb stuminh stuminl stuminlb stuminlh stur sturb sturh
stxp stxr stxrb stxrh stz2g stzg stzgm sub subg subp subps subs svc swp swpa swpab swpah swpal swpalb swpalh
swpb swph swpl swplb swplh sxtb sxth sxtw sys sysl tbnz tbz tcancel tcommit tlbi tsb tst tstart ttest ubfiz
ubfm ubfx udf udiv umaddl umnegl umsubl umulh umull uxtb uxth uxtw wfe wfet wfi wfit xaflag xpacd xpaci
xpaclri yield abs cnt ctz smax smin umax umin cpyfp cpyfm cpyfe cpyp cpym cpye setp setm sete setgp setgm
setge
"""
_FP_MNEMONICS = """
fabd fabs facge facgt facle faclt fadd faddp fccmp fccmpe fcmeq fcmge fcmgt fcmle fcmlt fcmp fcmpe fcsel
fcvt fcvtas fcvtau fcvtl fcvtl2 fcvtms fcvtmu fcvtn fcvtn2 fcvtns fcvtnu fcvtps fcvtpu fcvtxn fcvtxn2 fcvtzs
fcvtzu fdiv fjcvtzs fmadd fmax fmaxnm fmaxnmp fmaxnmv fmaxp fmaxv fmin fminnm fminnmp fminnmv fminp fminv
fmla fmlal fmlal2 fmls fmlsl fmlsl2 fmov fmsub fmul fmulx fneg fnmadd fnmsub fnmul frecpe frecps frecpx
frint32x frint32z frint64x frint64z frinta frinti frintm frintn frintp frintx frintz frsqrte frsqrts fsqrt
fsub scvtf ucvtf fcadd fcmla bfcvt bfcvtn bfcvtn2 bfdot bfmlalb bfmlalt bfmmla
"""
_SIMD_MNEMONICS = """
addhn addhn2 addp addv aesd aese aesimc aesmc bcax bif bit bsl cmeq cmge cmgt cmhi cmhs cmle cmlt cmtst dup
eor3 ext ins ld1 ld1r ld2 ld2r ld3 ld3r ld4 ld4r movi mvni not pmul pmull pmull2 raddhn raddhn2 rax1 rshrn
rshrn2 rsubhn rsubhn2 saba sabal sabal2 sabd sabdl sabdl2 sadalp saddl saddl2 saddlp saddlv saddw saddw2 sdot
sha1c sha1h sha1m sha1p sha1su0 sha1su1 sha256h sha256h2 sha256su0 sha256su1 sha512h sha512h2 sha512su0
sha512su1 shadd shl shll shll2 shrn shrn2 shsub sli sm3partw1 sm3partw2 sm3ss1 sm3tt1a sm3tt1b sm3tt2a
sm3tt2b sm4e sm4ekey smaxp smaxv sminp sminv smlal smlal2 smlsl smlsl2 smmla smov smull2 sqabs sqadd sqdmlal
sqdmlal2 sqdmlsl sqdmlsl2 sqdmulh sqdmull sqdmull2 sqneg sqrdmlah sqrdmlsh sqrdmulh sqrshl sqrshrn sqrshrn2
sqrshrun sqrshrun2 sqshl sqshlu sqshrn sqshrn2 sqshrun sqshrun2 sqsub sqxtn sqxtn2 sqxtun sqxtun2 srhadd sri
srshl srshr srsra sshl sshll sshll2 sshr ssra ssubl ssubl2 ssubw ssubw2 st1 st2 st3 st4 sudot suqadd sxtl
sxtl2 tbl tbx trn1 trn2 uaba uabal uabal2 uabd uabdl uabdl2 uadalp uaddl uaddl2 uaddlp uaddlv uaddw uaddw2
udot uhadd uhsub umaxp umaxv uminp uminv umlal umlal2 umlsl umlsl2 ummla umov umull2 uqadd uqrshl uqrshrn
uqrshrn2 uqshl uqshrn uqshrn2 uqsub uqxtn uqxtn2 urecpe urhadd urshl urshr ursqrte ursra usdot ushl ushll
ushll2 ushr usmmla usqadd usra usubl usubl2 usubw usubw2 uxtl uxtl2 uzp1 uzp2 xar xtn xtn2 zip1 zip2
"""
MNEMONICS = frozenset((_BASE_MNEMONICS + _FP_MNEMONICS + _SIMD_MNEMONICS).split())
_CONDITIONS = "eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|al|nv"
# b.eq, bc.ne (FEAT_HBC), and the dot-less beq that GNU as also accepts
_CONDITIONAL_BRANCH = re.compile(rf"(?:bc?\.|b)(?:{_CONDITIONS})", re.IGNORECASE)


def is_mnemonic(word: str) -> bool:
    """True if `word` is an A64 mnemonic we know (case-insensitive), including b.cond forms."""
    return word.lower() in MNEMONICS or _CONDITIONAL_BRANCH.fullmatch(word) is not None


# --- directives -------------------------------------------------------------------------------------
# Directives that only carry metadata (debug info, symbol attributes, alignment padding, target
# selection): dropping them does not change what the instructions compute.
HARMLESS_DIRECTIVES = frozenset(
    """
    .p2align .p2alignw .p2alignl .align .balign .balignw .balignl .loc .loc_mark_labels .file .text
    .globl .global .type .size .ident .hidden .protected .internal .local .weak .arch .arch_extension
    .cpu .func .endfunc .addrsig .addrsig_sym .variant_pcs .subsections_via_symbols .build_version
    """.split()
)
# Why the best-known harmful directives are rejected; every other directive gets the generic reason.
_DIRECTIVE_DANGERS = {
    **dict.fromkeys([".incbin", ".include"], "it reads a file"),
    **dict.fromkeys([".section", ".pushsection", ".popsection", ".previous", ".subsection", ".data", ".bss"],
                    "it switches sections"),
    **dict.fromkeys([".org", ".space", ".skip", ".fill", ".zero"], "it moves or pads the location counter"),
    **dict.fromkeys([".macro", ".endm", ".purgem", ".rept", ".irp", ".irpc", ".endr", ".exitm"],
                    "it defines or expands macros"),
    **dict.fromkeys([".set", ".equ", ".equiv", ".eqv", ".req", ".unreq"], "it defines symbols or aliases"),
    **dict.fromkeys([".if", ".ifdef", ".ifndef", ".ifc", ".ifeq", ".ifne", ".else", ".elseif", ".endif"],
                    "it makes assembly conditional"),
    **dict.fromkeys([".byte", ".hword", ".short", ".word", ".int", ".long", ".quad", ".dword", ".xword",
                     ".inst", ".ascii", ".asciz", ".string", ".float", ".double"], "it puts data in the code"),
    **dict.fromkeys([".ltorg", ".pool"], "it places a literal pool in the code"),
    ".end": "it stops assembly early",
}
_GENERIC_DANGER = "only instructions, labels and metadata directives (.cfi_*, .align, .globl, ...) are accepted"


def _directive_reason(name: str) -> str:
    if name.startswith(".if"):
        return _DIRECTIVE_DANGERS[".if"]
    return _DIRECTIVE_DANGERS.get(name, _GENERIC_DANGER)


# --- small lexical helpers --------------------------------------------------------------------------
_LABEL_NAME = r"[A-Za-z_.$][\w.$]*|\d+"
_LABEL_DEFINITION = re.compile(rf"(?P<name>{_LABEL_NAME})\s*:")  # GNU as allows `foo :`
_LABEL_STATEMENT = re.compile(rf"({_LABEL_NAME}):")  # a label Statement's text, normalised to `foo:`
_DIRECTIVE_NAME = re.compile(r"\.[A-Za-z_][\w.$]*")
_SYMBOL_ASSIGNMENT = re.compile(r"(?:\.|[A-Za-z_.$][\w.$]*)\s*=")  # `x = 5`, `. = . + 8` (moves the location)
_REGISTER_ALIAS = re.compile(r"[A-Za-z_][\w.$]*\s+\.(?:req|unreq)\b", re.IGNORECASE)
_FENCE = re.compile(r"\s*(`{3,}|~{3,})")
_MARKDOWN_MARKER = re.compile(r"\s*(?:[-*+>]\s|\*\*|\d+[.)]\s|(?:[-*_=]\s*){3,}$)")
_PLAIN_WORD = re.compile(r"[(\"'“‘*_]*[A-Za-z][A-Za-z'’-]*[)\"'”’*_,.;:!?]*")
_REGISTER_WORD = re.compile(r"(?:sp|wsp|xzr|wzr|lr|fp|pc)[,.;:]?", re.IGNORECASE)


def _is_plain_word(word: str) -> bool:
    """An English-looking word: letters with surrounding punctuation, not a register name like `sp`."""
    return _PLAIN_WORD.fullmatch(word) is not None and _REGISTER_WORD.fullmatch(word) is None


def _reads_as_words(text: str) -> bool:
    """Three or more words, all plain (`and then return`): a comment, even if it starts with a mnemonic."""
    words = text.split()
    return len(words) >= 3 and all(_is_plain_word(word) for word in words)


def looks_like_prose(code: str) -> bool:
    """True if a line (comments already removed) clearly reads as natural language, not as assembly.

    Deliberately conservative: a line is prose only with strong evidence (markdown markup, or mostly
    plain words and either a sentence ending or at least four words). A line starting with a mnemonic
    must be all plain words and end like a sentence (`And that's it.`), so that `b loop again` stays
    code and fails in the assembler rather than vanishing.
    """
    if "`" in code or _MARKDOWN_MARKER.match(code):
        return True  # assembly never contains backticks, bullets, bold text or rules
    words = code.split()
    if len(words) < 2:
        return False
    plain_words = sum(_is_plain_word(word) for word in words)
    if plain_words < 0.75 * len(words):
        return False
    ends_like_sentence = code.rstrip().endswith((".", ":", "!", "?"))
    if is_mnemonic(words[0].rstrip(",.;:")):
        return len(words) >= 3 and plain_words == len(words) and ends_like_sentence
    return ends_like_sentence or len(words) >= 4


_UNUSUAL_SPACE = re.compile(r"[^\S\t\n]|[\u200b-\u200d\u2060\ufeff]")  # NBSP, thin space, BOM, ...
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _normalise_characters(text: str) -> str:
    """Unusual spaces -> plain space, lone surrogates (from JSON) -> U+FFFD; one character for one.

    One character in, one character out, so columns stay those of the user's text.
    """
    return _LONE_SURROGATE.sub("\ufffd", _UNUSUAL_SPACE.sub(" ", text))


def _describe_lines(first: int, last: int) -> str:
    return f"line {first}" if first == last else f"lines {first}-{last}"


def _group_notes(reason_by_line: dict[int, str], lines: list[str]) -> list[str]:
    """{3: "prose", 4: "prose", 9: "prose"} -> ["lines 3-4: prose", "line 9: prose"], in line order.

    A run of equal reasons continues across blank lines (`lines` is the text, 0-based).
    """
    notes: list[str] = []
    run_start = run_end = None
    run_reason = None
    for line in sorted(reason_by_line):
        reason = reason_by_line[line]
        if reason == run_reason and not any(text.strip() for text in lines[run_end:line - 1]):
            run_end = line
            continue
        if run_reason is not None:
            notes.append(f"{_describe_lines(run_start, run_end)}: {run_reason}")
        run_start = run_end = line
        run_reason = reason
    if run_reason is not None:
        notes.append(f"{_describe_lines(run_start, run_end)}: {run_reason}")
    return notes


# --- the stages -------------------------------------------------------------------------------------
def _select_code_lines(lines: list[str], notes: dict[int, str]) -> tuple[range, bool]:
    """Pick the lines holding code: the last fenced block if there is one, else every line.

    Returns the 0-based index range and whether it came from a fence. Lines outside it get a note.
    """
    blocks: list[tuple[int, int | None]] = []  # (opening fence index, closing fence index or None)
    opening = None
    fence_char = ""
    for index, line in enumerate(lines):
        fence = _FENCE.match(line)
        if fence is None:
            continue
        if opening is None:
            opening, fence_char = index, fence.group(1)[0]
        elif fence.group(1)[0] == fence_char and not line[fence.end():].strip():
            blocks.append((opening, index))
            opening = None
    if opening is not None:
        if any(line.strip() for line in lines[opening + 1:]):
            blocks.append((opening, None))  # an answer cut off inside its code block
        else:
            notes[opening + 1] = "stray code fence"  # `add x0, x0, x0` then a lone closing fence
            if not blocks:
                return range(opening), False
    if not blocks:
        return range(len(lines)), False

    *earlier_blocks, (start, end) = blocks
    for block_start, block_end in earlier_blocks:
        for index in range(block_start, block_end + 1):
            notes[index + 1] = "earlier code block (only the last one is used)"
    for index, line in enumerate(lines):
        if line.strip() and (index < start or (end is not None and index > end)):
            notes.setdefault(index + 1, "text outside the code block")
    notes[start + 1] = "code fence"
    if end is None:
        notes[start + 1] = "code fence (never closed)"
        return range(start + 1, len(lines)), True
    notes[end + 1] = "code fence"
    return range(start + 1, end), True


def _strip_comments(lines: list[str], code_lines: range) -> dict[int, str]:
    """Remove `/* */`, `//`, and whole-line `#` / `;` comments, blanking them with spaces.

    Returns {0-based line index: code text} with the same length as the original line so that columns
    survive; lines with no code left are omitted.
    """
    code_by_index: dict[int, str] = {}
    comment_opened_at: tuple[int, int] | None = None  # (line index, column index) of an open `/*`
    for index in code_lines:
        line = lines[index]
        kept: list[str] = []
        position = 0
        if comment_opened_at is None and line.lstrip()[:1] in ("#", ";"):
            continue  # a `#` line is a comment for GNU as; a leading `;` is one by the author's intent
        while position < len(line):
            if comment_opened_at is not None:
                close = line.find("*/", position)
                if close < 0:
                    kept.append(" " * (len(line) - position))
                    break
                kept.append(" " * (close + 2 - position))
                position = close + 2
                comment_opened_at = None
                continue
            if line.startswith("/*", position):
                comment_opened_at = (index, position)
                kept.append("  ")
                position += 2  # so that `/*/` does not close itself
                continue
            if line.startswith("//", position):
                break
            kept.append(line[position])
            position += 1
        code = "".join(kept)
        if code.strip():
            code_by_index[index] = code
    if comment_opened_at is not None:
        line_index, column_index = comment_opened_at
        raise SnippetError("other", "`/*` comment is never closed", line_index + 1, column_index + 1)
    return code_by_index


def _trim_prose(code_by_index: dict[int, str], notes: dict[int, str]) -> None:
    """Drop leading and trailing lines that read as prose; stop at the first line that does not."""
    for from_the_end in (False, True):
        for index in sorted(code_by_index, reverse=from_the_end):
            if not looks_like_prose(code_by_index[index]):
                break
            del code_by_index[index]
            notes[index + 1] = "prose"


_LOCAL_LABEL_DEFINITION = re.compile(r"\s*(?:\d+|\.L[\w.$]*):")


def _split_statements(code: str) -> list[tuple[int, str]]:
    """One line's code -> [(0-based column, statement text)], splitting on `;` and label definitions.

    GNU as for AArch64 treats `;` as a statement separator. Authors also use it to start a comment, so a
    part after `;` is a statement only if it starts with a local label definition (`1:`, `.L3:`; a
    word such as `note:` is too likely prose), or its first word is a mnemonic and it is not just plain
    words (`; and then return`); otherwise it and the rest of the line are a comment.
    """
    statements: list[tuple[int, str]] = []
    start = 0
    for part_number, part in enumerate(code.split(";")):
        words = part.split()
        starts_with_label = _LOCAL_LABEL_DEFINITION.match(part) is not None
        is_statement = starts_with_label or (words and is_mnemonic(words[0]) and not _reads_as_words(part))
        if part_number > 0 and not is_statement:
            break
        statements.extend(_labels_then_rest(part, start))
        start += len(part) + 1
    return statements


def _labels_then_rest(part: str, offset: int) -> list[tuple[int, str]]:
    """`  foo: 1: add x0, x0, x0` -> [(2, "foo:"), (7, "1:"), (10, "add x0, x0, x0")] (columns + offset)."""
    pieces: list[tuple[int, str]] = []
    position = len(part) - len(part.lstrip())
    while True:
        label = _LABEL_DEFINITION.match(part, position)
        if label is None:
            break
        pieces.append((offset + position, label.group("name") + ":"))
        position = label.end()
        position += len(part[position:]) - len(part[position:].lstrip())
    rest = part[position:].rstrip()
    if rest:
        pieces.append((offset + position, rest))
    return pieces


def _classify(statement: Statement, notes: dict[int, str]) -> bool:
    """Keep (True), drop with a note (False), or reject (raise) one statement."""
    text = statement.text
    if statement.label is not None:
        return True
    directive = _DIRECTIVE_NAME.match(text)
    if directive:
        name = directive.group().lower()
        if name in HARMLESS_DIRECTIVES or name.startswith(".cfi_"):
            previous = notes.get(statement.line)
            note = f"directive {directive.group()}"
            notes[statement.line] = f"{previous}, {note}" if previous else note
            return False
        raise SnippetError(
            "directive",
            f"directive {directive.group()} is not allowed: {_directive_reason(name)}",
            statement.line,
            statement.column,
        )
    if _SYMBOL_ASSIGNMENT.match(text) or _REGISTER_ALIAS.match(text):
        raise SnippetError(
            "directive",
            f"`{text}` is not allowed: it defines symbols or aliases",
            statement.line,
            statement.column,
        )
    if '"' in text:
        # gas lets a string run past the end of the line, so `"` could swallow the statements after it
        column = statement.column + text.index('"')
        raise SnippetError("other", "double quotes are not accepted in instructions", statement.line, column)
    for position, char in enumerate(text):
        if unicodedata.category(char) == "Cc" and char != "\t":
            raise SnippetError(
                "other",
                f"control character U+{ord(char):04X} in `{text.encode('unicode_escape').decode()}`",
                statement.line,
                statement.column + position,
            )
    return True


def clean(text: str, *, max_bytes: int = MAX_BYTES, max_statements: int = MAX_STATEMENTS) -> Snippet:
    """Extract the assembly statements from `text` (a bare snippet or a whole LLM answer).

    Raises SnippetError (and nothing else, for any string) when the text has no code, is over a limit,
    or holds a directive that could change how the assembler behaves.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise SnippetError("too_large", f"the text is {size} bytes; the limit is {max_bytes} bytes")
    lines = _normalise_characters(text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")

    notes: dict[int, str] = {}  # 1-based line -> what was dropped from it
    code_lines, fenced = _select_code_lines(lines, notes)
    code_by_index = _strip_comments(lines, code_lines)
    if not fenced:
        _trim_prose(code_by_index, notes)

    statements: list[Statement] = []
    for index, code in sorted(code_by_index.items()):
        for column_index, statement_text in _split_statements(code):
            statement = Statement(index + 1, column_index + 1, statement_text)
            if _classify(statement, notes):
                statements.append(statement)
                if len(statements) > max_statements:
                    raise SnippetError(
                        "too_large",
                        f"too many statements after clean-up: the limit is {max_statements}",
                        statement.line,
                        statement.column,
                    )

    dropped = _group_notes(notes, lines)
    if all(statement.label is not None for statement in statements):
        removed = f" (clean-up dropped {'; '.join(dropped)})" if dropped else ""
        raise SnippetError("empty", f"no instructions found in the text{removed}")
    return Snippet(statements, dropped)
