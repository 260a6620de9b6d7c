"""Assemble stage, with the real GNU assembler: encodings, user line numbers, labels, relocations."""

import random

import pytest

from verifier.assemble import MARKER_PREFIX, Relocation, assemble, assembler_version, classify
from verifier.errors import NotModelled, SnippetError
from verifier.text import clean

ADD_X0_X1_X2 = 0x8B020020
NOP = 0xD503201F
RET = 0xD65F03C0


def build(text):
    return assemble(clean(text))


def rejected(text) -> SnippetError:
    with pytest.raises(SnippetError) as caught:
        build(text)
    return caught.value


def not_modelled(text) -> NotModelled:
    with pytest.raises(NotModelled) as caught:
        build(text)
    return caught.value


def test_encodings_offsets_and_lines():
    program = build("add x0, x1, x2\n\nnop\nret")
    assert program.code == b"".join(word.to_bytes(4, "little") for word in (ADD_X0_X1_X2, NOP, RET))
    assert [(i.offset, i.line, i.text, i.encoding) for i in program.instructions] == [
        (0, 1, "add x0, x1, x2", ADD_X0_X1_X2),
        (4, 3, "nop", NOP),
        (8, 4, "ret", RET),
    ]
    assert (program.line_of(4), program.line_of(8), program.line_of(12)) == (3, 4, None)
    assert program.labels == {} and program.relocations == {} and program.external_labels == []


def test_two_statements_on_one_line():
    program = build("str x0, [x1]; ldr x2, [x1]")
    assert [(i.offset, i.line) for i in program.instructions] == [(0, 1), (4, 1)]


@pytest.mark.parametrize(
    "statement, kind",
    [
        ("addd x0, x1, x2", "opcode"),
        ("b.xx done", "opcode"),
        ("fadd x0, x1, x2", "register"),
        ("ldr w0, [w1]", "register"),
        ("mov x0, x33", "register"),
        ("ins v0.s[4], w0", "register"),
        ("b x0", "register"),
        ("add x0, x1, #5000", "immediate"),
        ("mov x0, #0x123456789", "immediate"),
        ("lsl x0, x1, #70", "immediate"),
        ("movk x0, #1, lsl #8", "immediate"),
        ("ldp x0, x1, [sp, #4]", "immediate"),
        ("and x0, x1, #0", "immediate"),
        ("add x0, x1", "operand"),
        ("add w0, x1, x2", "operand"),
        ("str x0, [x1", "operand"),
        ("mov x0, x1 x2", "operand"),
        ("csel x0, x1, x2, xx", "operand"),
        ("ldr x0, =foo+", "operand"),  # a warning ("missing operand; zero assumed") is still bad input
        ("b 1f", "label"),
        ("b.eq .+0x200000", "label"),
    ],
)
def test_assembler_errors_have_a_kind_and_the_users_line(statement, kind):
    error = rejected(f"nop\n\n   {statement}\nnop")
    assert (error.kind, error.line, error.column) == (kind, 3, 4)
    assert "snippet.s" not in error.message and MARKER_PREFIX not in error.message


def test_error_message_is_gas_message_with_its_suggestion():
    error = rejected("add w0, x1, x2")
    assert error.message == "operand mismatch -- `add w0,x1,x2'; did you mean `add x0, x1, x2`?"


def test_line_numbers_survive_clean_up():
    answer = (
        "Here is a faster version:\n"
        "```asm\n"
        "// prologue\n"
        "  .cfi_startproc\n"
        "  mov x0, x1 ; mov x2, x3\n"
        "  /* a comment */ addd x4, x5, x6\n"
        "```\n"
    )
    error = rejected(answer)
    assert (error.kind, error.line, error.column) == ("opcode", 6, 19)


def test_first_error_by_user_line_wins():
    # gas prints the out-of-range immediate (a fix-up) after the unknown mnemonic of line 2
    error = rejected("add x0, x1, #5000\naddd x0, x1, x2")
    assert (error.kind, error.line) == ("immediate", 1)


def test_duplicate_labels_are_rejected_even_at_one_address():
    error = rejected("foo:\nfoo:\nnop")
    assert (error.kind, error.line) == ("label", 2)
    error = rejected("foo:\nnop\nfoo: nop")
    assert (error.kind, error.line) == ("label", 3)


def test_internal_labels_are_resolved_and_listed():
    program = build("loop:\n  subs x0, x0, #1\n  b.ne loop\n.Ldone: ret\n1: b 1b\n1: b 1b")
    assert program.labels == {"loop": 0, ".Ldone": 8, "1": 12, "1 (line 6)": 16}
    assert program.relocations == {}
    assert program.instructions[1].encoding == 0x54FFFFE1  # b.ne -4
    assert program.instructions[3].encoding == 0x14000000  # b 1b: branch to itself


@pytest.mark.parametrize(
    "statement, relocation_type",
    [
        ("b elsewhere", "R_AARCH64_JUMP26"),
        ("b.eq elsewhere", "R_AARCH64_CONDBR19"),
        ("cbz x0, elsewhere", "R_AARCH64_CONDBR19"),
        ("tbz w1, #3, elsewhere", "R_AARCH64_TSTBR14"),
        ("bl elsewhere", "R_AARCH64_CALL26"),
        ("adrp x0, elsewhere", "R_AARCH64_ADR_PREL_PG_HI21"),
    ],
)
def test_undefined_label_becomes_a_relocation(statement, relocation_type):
    program = build(f"nop\n{statement}\nnop")
    assert program.relocations == {4: Relocation(4, relocation_type, "elsewhere", 0)}
    assert program.external_labels == ["elsewhere"]


def test_external_labels_are_sorted_and_unique_with_addends():
    program = build("cbz x0, .L9\nb.ne out+8\nb out\n.L2: b .L2")
    assert program.external_labels == [".L9", "out"]
    assert program.relocations[4].addend == 8
    assert program.labels == {".L2": 12}


def test_marker_labels_are_not_exposed():
    program = build("start: nop\nb start\nb away")
    assert program.labels == {"start": 0}
    assert program.external_labels == ["away"]


def test_reserved_prefix_is_rejected():
    error = rejected(f"nop\nb {MARKER_PREFIX}0")
    assert (error.kind, error.line, error.column) == ("label", 2, 3)


def test_the_literal_pool_is_split_off_the_code():
    program = assemble(clean("nop\nldr x0, =0x123456789\nldr w1, =5"))
    assert len(program.code) == 12 and [i.offset for i in program.instructions] == [0, 4, 8]
    assert program.pool == bytes.fromhex("05000000" "8967452301000000")  # gas sorts its pool by size


def test_unpredictable_encoding_is_not_modelled():
    error = not_modelled("nop\nldp x0, x0, [x1]")
    assert error.offset == 4 and "unpredictable" in error.what


def test_address_of_an_internal_label_is_not_modelled():
    assert not_modelled("adrp x0, here\nhere: nop").offset == 0


def test_classify_falls_back_to_other():
    assert classify("something gas has never said") == "other"


def test_assembler_version_names_gas_and_architecture():
    version = assembler_version()
    assert "GNU assembler" in version and "-march=" in version


def test_full_size_snippet_assembles():
    program = build("\n".join(f"add x{i % 31}, x{(i + 1) % 31}, #{i}" for i in range(256)))
    assert len(program.instructions) == 256 and len(program.code) == 1024
    assert program.line_of(1020) == 256


def test_random_statements_raise_only_pipeline_errors():
    rng = random.Random(7)
    pieces = ["add", "ldr", "b", "b.eq", "mov", "x0", "w1", "sp", ",", " ", "#", "1", "[", "]", "!", "=", "foo",
              "1f", "1b", "1:", "foo:", ".L3", ":lo12:", "\\", "'", "{", "}", "v0.4s", "-", "(", ".", "$", "é"]
    for _ in range(150):
        text = "\n".join("".join(rng.choice(pieces) for _ in range(rng.randint(1, 8))) for _ in range(3))
        try:
            build(text)
        except (SnippetError, NotModelled):
            pass


def test_assembly_is_memoised_per_statements_and_keeps_line_numbers():
    first = assemble(clean("add x0, x0, x0\nret"))
    assert assemble(clean("add x0, x0, x0\nret")) is first  # the same block graded against many answers
    shifted = assemble(clean("\n\nadd x0, x0, x0\nret"))
    assert shifted is not first and [i.line for i in shifted.instructions] == [3, 4]
