"""Clean-up stage: LLM answers -> statements located in the user's own text."""

import random

import pytest

from verifier.errors import SnippetError
from verifier.text import MAX_BYTES, Statement, clean


def texts(snippet):
    return [statement.text for statement in snippet.statements]


def located(snippet):
    return [(statement.line, statement.column, statement.text) for statement in snippet.statements]


def rejected(text, **limits) -> SnippetError:
    with pytest.raises(SnippetError) as caught:
        clean(text, **limits)
    return caught.value


def test_bare_snippet_keeps_lines_and_columns():
    snippet = clean("add x0, x1, x2\n\n   mul x3, x3, x3\n")
    assert located(snippet) == [(1, 1, "add x0, x1, x2"), (3, 4, "mul x3, x3, x3")]
    assert snippet.dropped == []


def test_fenced_answer_with_prose_around_it():
    answer = (
        "Here is the optimized version:\n"
        "\n"
        "```asm\n"
        "    add x0, x0, x1\n"
        "    ret\n"
        "```\n"
        "\n"
        "This saves one instruction because the shift is folded.\n"
    )
    snippet = clean(answer)
    assert located(snippet) == [(4, 5, "add x0, x0, x1"), (5, 5, "ret")]
    assert snippet.dropped == [
        "line 1: text outside the code block",
        "line 3: code fence",
        "line 6: code fence",
        "line 8: text outside the code block",
    ]


def test_several_fenced_blocks_use_the_last_and_say_so():
    answer = "Original:\n```\nmov x0, x1\n```\nRewritten:\n```armasm\nmov x0, x2\n```\n"
    snippet = clean(answer)
    assert located(snippet) == [(7, 1, "mov x0, x2")]
    assert "lines 2-4: earlier code block (only the last one is used)" in snippet.dropped


def test_unclosed_fence_runs_to_the_end():
    snippet = clean("Sure:\n```s\nadd x0, x0, #1\nret")
    assert texts(snippet) == ["add x0, x0, #1", "ret"]
    assert "line 2: code fence (never closed)" in snippet.dropped


def test_stray_closing_fence_after_bare_code():
    snippet = clean("add x0, x0, x0\nret\n```\n")
    assert texts(snippet) == ["add x0, x0, x0", "ret"]
    assert snippet.dropped == ["line 3: stray code fence"]


def test_prose_before_and_after_bare_code_is_dropped():
    answer = (
        "Here is the rewritten code:\n"
        "add x0, x0, x0\n"
        "ret\n"
        "\n"
        "It is equivalent because doubling is an addition.\n"
        "- No memory is touched.\n"
    )
    snippet = clean(answer)
    assert located(snippet) == [(2, 1, "add x0, x0, x0"), (3, 1, "ret")]
    assert snippet.dropped == ["line 1: prose", "lines 5-6: prose"]


@pytest.mark.parametrize(
    "text",
    [
        "addd x0, x1, x2\nret",  # a mistyped mnemonic at the start
        "ret\naddd x0, x1, x2",  # ... and at the end
        "ret\nb loop again",  # a real mnemonic with odd operands
        "movv result value\nret",
    ],
)
def test_mistyped_instructions_are_not_taken_for_prose(text):
    assert len(clean(text).statements) == 2


def test_crlf_tabs_and_unusual_spaces():
    snippet = clean("add\tx0, x1, x2\r\n\u00a0\u00a0ldr x0, [x1]\r\nret\u202f\rnop")
    assert located(snippet) == [(1, 1, "add\tx0, x1, x2"), (2, 3, "ldr x0, [x1]"), (3, 1, "ret"), (4, 1, "nop")]


def test_semicolon_separates_statements():
    snippet = clean("str x0, [x1]; ldr x2, [x1] ;b.eq done")
    assert located(snippet) == [(1, 1, "str x0, [x1]"), (1, 15, "ldr x2, [x1]"), (1, 29, "b.eq done")]


@pytest.mark.parametrize(
    "line",
    [
        "add x0, x0, #1 ; increment the counter",
        "add x0, x0, #1 ; and then return",  # starts with the mnemonic `and`, but reads as words
        "add x0, x0, #1 ; note: add x1 too",
        "add x0, x0, #1 ;",
    ],
)
def test_semicolon_starts_a_comment_when_no_instruction_follows(line):
    assert texts(clean(line)) == ["add x0, x0, #1"]


def test_line_starting_with_semicolon_is_a_comment():
    assert texts(clean("; add x0, x0, x0\nret")) == ["ret"]


def test_line_and_hash_comments_keep_immediates():
    snippet = clean("# computes x0 * 2\nadd x0, x1, #1 // plus one\n  #another comment\nlsl x0, x0, #1")
    assert located(snippet) == [(2, 1, "add x0, x1, #1"), (4, 1, "lsl x0, x0, #1")]


def test_block_comments_even_across_lines():
    snippet = clean("/* start\n still a comment */ add x0, x0, x0 /* inline */ ; sub x1, x1, #1\nret")
    assert located(snippet) == [(2, 21, "add x0, x0, x0"), (2, 51, "sub x1, x1, #1"), (3, 1, "ret")]


def test_block_comment_opening_is_not_its_own_end():
    assert texts(clean("/*/ add x0, x0, x0 */ nop")) == ["nop"]


def test_unclosed_block_comment_is_an_error():
    error = rejected("add x0, x0, x0\n/* oops\nret")
    assert (error.kind, error.line, error.column) == ("other", 2, 1)


def test_label_definitions_are_their_own_statements():
    snippet = clean(".L3:\nfoo: add x0, x0, x0\n1: 2:b 1b\n")
    assert located(snippet) == [
        (1, 1, ".L3:"),
        (2, 1, "foo:"),
        (2, 6, "add x0, x0, x0"),
        (3, 1, "1:"),
        (3, 4, "2:"),
        (3, 6, "b 1b"),
    ]
    assert [statement.label for statement in snippet.statements] == [".L3", "foo", None, "1", "2", None]


def test_label_is_recognised_only_as_a_whole_statement():
    assert Statement(1, 1, "add x0, x0, :lo12:").label is None


@pytest.mark.parametrize(
    "directive",
    [".cfi_startproc", ".cfi_def_cfa_offset 16", ".p2align 4", ".align 2", ".balign 8", ".loc 1 3 0",
     '.file "a.c"', ".text", ".globl f", ".global f", ".type f, %function", ".size f, .-f", '.ident "GCC"',
     ".hidden f", ".local f", ".weak f", ".arch armv8-a", ".arch_extension crc", ".cpu generic", ".addrsig"],
)
def test_harmless_directives_are_dropped_and_reported(directive):
    snippet = clean(f"add x0, x0, x0\n  {directive}\nret")
    assert texts(snippet) == ["add x0, x0, x0", "ret"]
    assert snippet.dropped == [f"line 2: directive {directive.split()[0]}"]


def test_function_prologue_from_a_compiler():
    listing = (
        "\t.text\n\t.globl\tf\n\t.type\tf, %function\nf:\n"
        "\t.cfi_startproc\n\tadd\tw0, w0, 1\n\tret\n\t.cfi_endproc\n"
    )
    snippet = clean(listing)
    assert texts(snippet) == ["f:", "add\tw0, w0, 1", "ret"]
    assert snippet.dropped == [
        "line 1: directive .text",
        "line 2: directive .globl",
        "line 3: directive .type",
        "line 5: directive .cfi_startproc",
        "line 8: directive .cfi_endproc",
    ]


@pytest.mark.parametrize(
    "directive",
    ['.incbin "/etc/passwd"', '.include "x.s"', ".section .data", ".pushsection .data", ".popsection",
     ".org 0x100", ".macro m", ".endm", ".set x, 1", ".equ x, 1", ".equiv x, 1", ".rept 3", ".irp r, x0",
     ".if 1", ".ifdef x", ".data", ".bss", ".space 16", ".skip 4", ".fill 4, 1, 0", ".byte 1", ".word 0",
     ".quad 0", ".inst 0xd503201f", '.ascii "x"', ".ltorg", ".pool", ".unknown_directive"],
)
def test_dangerous_directives_are_rejected_with_their_line(directive):
    error = rejected(f"nop\nnop\n   {directive}\nnop")
    assert (error.kind, error.line, error.column) == ("directive", 3, 4)
    assert directive.split()[0] in error.message


@pytest.mark.parametrize("line", ["x = 5", ". = . + 16", "counter .req x3"])
def test_symbol_assignments_and_register_aliases_are_rejected(line):
    error = rejected(f"nop\n{line}")
    assert (error.kind, error.line) == ("directive", 2)


def test_directive_after_a_label_on_the_same_line_is_rejected():
    error = rejected("table: .word 1, 2")
    assert (error.kind, error.line, error.column) == ("directive", 1, 8)


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t\n", "I could not find a better version.", "```asm\n```", "// only a comment", "foo:",
     ".cfi_startproc\n.cfi_endproc"],
)
def test_no_code_is_empty(text):
    assert rejected(text).kind == "empty"


def test_empty_error_says_what_was_dropped():
    assert "line 1: prose" in rejected("There is nothing to improve here.").message


def test_too_many_bytes():
    error = rejected("nop\n" * (MAX_BYTES // 4 + 1))
    assert error.kind == "too_large"
    assert str(MAX_BYTES) in error.message


def test_too_many_statements():
    error = rejected("nop\n" * 11, max_statements=10)
    assert (error.kind, error.line) == ("too_large", 11)
    assert "10" in error.message


def test_control_characters_are_rejected_with_their_column():
    error = rejected("nop\nadd x0,\x00 x1, x2")
    assert (error.kind, error.line, error.column) == ("other", 2, 8)


def test_double_quotes_are_rejected():
    # gas would let the string run on over the following lines
    error = rejected('nop\nb "odd name\nret')
    assert (error.kind, error.line, error.column) == ("other", 2, 3)


def test_random_text_raises_nothing_but_snippet_error():
    rng = random.Random(20240601)
    pieces = list("ax0#;:/*[]`.,\t\n\r=-\\'\"") + [
        "```", "/*", "*/", "//", ".incbin", "add x0, x1, x2", ".L3:", "\u00a0", "\ud800", "\x00", "é", " ",
    ]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        try:
            snippet = clean(text)
        except SnippetError:
            continue
        assert all(statement.text == statement.text.strip() for statement in snippet.statements)


def test_local_label_after_semicolon_is_a_statement():
    snippet = clean("cmp x0, #0; b.ne 1f; mov x1, x2; 1: add x1, x1, #1; .L2: ret")
    assert [s.text for s in snippet.statements] == [
        "cmp x0, #0", "b.ne 1f", "mov x1, x2", "1:", "add x1, x1, #1", ".L2:", "ret",
    ]
