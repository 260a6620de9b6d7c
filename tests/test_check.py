"""Known answers through the public API: `verifier.check(source, candidate, **options)`.

Every `not_equivalent` here must come back confirmed by the unicorn replay.
"""

from __future__ import annotations

import json

import pytest

from differential import assert_not_equivalent
from verifier import Verdict, check



def test_double_is_shift():
    result = check("add x0,x0,x0", "lsl x0,x0,#1")
    assert result.verdict == Verdict.equivalent, result.reason
    assert result.counterexample is None


def test_store_to_load_forwarding_is_equivalent():
    assert check("str x0,[x1]; ldr x2,[x1]", "str x0,[x1]; mov x2,x0").verdict == Verdict.equivalent


def test_reordering_through_possibly_aliasing_pointers_is_caught():
    cex = assert_not_equivalent(check("ldr x2,[x3]\nstr x0,[x1]", "str x0,[x1]\nldr x2,[x3]"), "x2")
    registers = cex.inputs.registers
    # The only way they differ is when the store hits the loaded bytes.
    x1, x3 = int(registers.get("x1", "0x0"), 16), int(registers.get("x3", "0x0"), 16)
    assert abs(x1 - x3) < 8


def test_w_write_zeroes_the_upper_half():
    cex = assert_not_equivalent(check("add w0,w1,w2", "add x0,x1,x2"), "x0")
    assert [d.location for d in cex.differences] == ["x0"]
    # Minimised: the smallest value with an upper half, in one of the two registers, the other zero.
    assert sorted(cex.inputs.registers.values()) == ["0x0", "0x100000000"]


def test_flags_only_difference_and_live_out():
    cex = assert_not_equivalent(check("adds x0,x1,x2", "add x0,x1,x2"), "nzcv")
    assert [d.location for d in cex.differences] == ["nzcv"]
    assert check("adds x0,x1,x2", "add x0,x1,x2", live_out=["x0", "memory"]).verdict == Verdict.equivalent
    assert_not_equivalent(check("adds x0,x1,x2", "add x0,x1,x2", live_out=["x0", "flags"]), "flags")


def test_division_by_a_register_that_may_be_zero():
    # AArch64 defines x / 0 = 0 (no trap): the guard in the candidate is redundant.
    assert check("udiv x0,x1,x2", "cbz x2, 1f\nudiv x0,x1,x2\nb 2f\n1: mov x0, #0\n2:").verdict == Verdict.equivalent
    # Dropping the division is wrong, and the counterexample may well divide by zero.
    assert_not_equivalent(check("sdiv w0,w1,w2", "mov w0, w1"), "x0")


def test_signed_division_overflow_wraps():
    source = "sdiv w0, w1, w2"
    candidate = "cmn w2, #1\nb.ne 1f\nneg w0, w1\nb 2f\n1: sdiv w0, w1, w2\n2: mov x3, x4"
    # x3 is clobbered and flags are set in the candidate, so compare x0 only:
    # INT_MIN / -1 == -INT_MIN == INT_MIN.
    assert check(source, candidate, live_out=["x0"]).verdict == Verdict.equivalent


def test_branch_over_mov_equals_csel():
    source = "cmp x1, x2\nb.ne .L2\nmov x0, x3\n.L2:\nadd x0, x0, #1"
    candidate = "cmp x1, x2\ncsel x0, x3, x0, eq\nadd x0, x0, #1"
    assert check(source, candidate).verdict == Verdict.equivalent


def test_same_branch_to_a_different_external_label():
    cex = assert_not_equivalent(check("cmp x0, #0\nb.eq .Ldone", "cmp x0, #0\nb.eq .Lother"), "exit")
    assert cex.source_exit.label == ".Ldone" and cex.candidate_exit.label == ".Lother"
    assert int(cex.inputs.registers.get("x0", "0x0"), 16) == 0


def test_external_exit_taken_under_the_same_condition_is_equivalent():
    assert check("cmp x0, #0\nb.eq done", "cmp x0, #0\ncbz x0, done").verdict == Verdict.equivalent


def test_inverted_condition_is_caught():
    cex = assert_not_equivalent(check("cmp x0, x1\nb.lt out", "cmp x0, x1\nb.le out"), "exit")
    assert cex.inputs.registers.get("x0") == cex.inputs.registers.get("x1")


def test_indirect_exit_targets_are_compared():
    assert check("ret", "br x30").verdict == Verdict.equivalent
    assert_not_equivalent(check("ret", "ret x1"), "exit")


def test_llm_answer_in_a_markdown_fence_with_prose():
    answer = (
        "Sure! Here is the optimized code:\n\n```asm\n"
        "    lsl x0, x0, #1   // double it\n"
        "```\n\nThis uses a shift instead of an add.\n"
    )
    result = check("add x0, x0, x0", answer)
    assert result.verdict == Verdict.equivalent, result.reason
    assert [i.line for i in result.candidate.instructions] == [4]


def test_memory_difference_is_reported_by_address():
    cex = assert_not_equivalent(check("str x0, [x1]", "str w0, [x1]"), "mem[")
    (difference,) = [d for d in cex.differences if d.location.startswith("mem[")]
    assert len(bytes.fromhex(difference.source)) >= 1


def test_counterexample_inputs_are_minimised():
    cex = assert_not_equivalent(check("add x0, x1, #1", "add x0, x1, #2"), "x0")
    assert cex.inputs.registers == {"x1": "0x0"}
    (difference,) = cex.differences
    assert (difference.source, difference.candidate) == ("0x1", "0x2")


def test_aapcs64_preset_ignores_scratch_registers():
    source = "mov x9, #3\nmul x0, x0, x9"
    candidate = "add x0, x0, x0, lsl #1"
    assert_not_equivalent(check(source, candidate), "x9")
    assert check(source, candidate, preset="aapcs64").verdict == Verdict.equivalent
    # ... but not callee-saved ones.
    assert_not_equivalent(check(source + "\nmov x19, #0", candidate, preset="aapcs64"), "x19")


def test_aapcs64_ignores_memory_below_sp_only():
    # AAPCS64 assumes an aligned stack that does not wrap around the address space.
    assert check("str x0, [sp, #-16]", "nop", preset="aapcs64").verdict == Verdict.equivalent
    assert_not_equivalent(check("str x0, [sp, #-16]", "nop"), "mem[")
    assert_not_equivalent(check("str x0, [sp, #16]", "nop", preset="aapcs64"), "mem[")


@pytest.mark.parametrize(
    "candidate, kind, line",
    [
        ("add x0, x1, x2\naddd x0, x1, x2", "opcode", 2),
        ("add x0, q1, x2", "register", 1),
        ("nop\nnop\nlsl x0, x1, #70", "immediate", 3),
        ("add x0, x1", "operand", 1),
        ("foo:\nnop\nfoo:\nnop", "label", 3),
        ("nop\n.incbin \"/etc/passwd\"", "directive", 2),
        ("Sorry, I cannot help with that.", "empty", None),
    ],
)
def test_invalid_input_kinds_and_lines(candidate, kind, line):
    result = check("nop", candidate)
    assert result.verdict == Verdict.invalid
    assert result.candidate.error.kind == kind, result.candidate.error
    if line is not None:
        assert result.candidate.error.line == line
    assert result.source.error is None


def test_too_large_input():
    result = check("nop", "nop\n" * 5000)
    assert result.verdict == Verdict.invalid and result.candidate.error.kind == "too_large"


def test_unsupported_instruction_is_named_with_its_line():
    result = check("nop", "nop\nbl 1f\n1: nop")
    assert result.verdict == Verdict.unsupported
    (item,) = result.unsupported
    assert item.snippet == "candidate" and item.line == 2 and "call to a label inside the snippet" in item.what


def test_loop_with_a_fixed_trip_count_is_proved_completely():
    source = "mov x1, #4\n1: add x0, x0, #2\nsubs x1, x1, #1\nb.ne 1b"
    candidate = "add x0, x0, #8\nmov x1, #0\ncmp x1, #0"
    assert check(source, candidate).verdict == Verdict.equivalent


def test_loop_that_may_run_past_the_bound_is_only_bounded_equivalent():
    source = "1: subs x0, x0, #1\nb.ne 1b"
    candidate = "mov x0, #0"
    result = check(source, candidate, live_out=["x0"], unroll=4)
    assert result.verdict == Verdict.bounded_equivalent, result.reason
    assert "at most 4 iterations" in result.reason


def test_difference_inside_the_bound_is_a_confirmed_counterexample():
    source = "mov x2, #0\n1: add x2, x2, x1\nsubs x0, x0, #1\nb.ne 1b"
    candidate = "mul x2, x0, x1\nadd x2, x2, #1\nmov x0, #0"
    cex = assert_not_equivalent(check(source, candidate, live_out=["x0", "x2"], unroll=4), "x2")
    assert int(cex.inputs.registers.get("x0", "0x0"), 16) <= 4


def test_infinite_loop_is_never_equivalent():
    result = check("1: b 1b", "2: b 2b", unroll=2)
    assert result.verdict == Verdict.bounded_equivalent


def test_unmodelled_system_instruction_is_unsupported_not_equivalent():
    result = check("mrs x0, tpidr_el0", "mrs x0, tpidr_el0")
    assert result.verdict == Verdict.unsupported, result.reason


def test_result_is_json_serialisable_with_all_fields():
    result = check("adds x0,x1,x2", "add x0,x1,x2")
    data = json.loads(result.model_dump_json())
    for field in ["verdict", "reason", "source", "candidate", "counterexample", "unsupported", "timings_ms", "version"]:
        assert field in data
    assert data["verdict"] == "not_equivalent"
    assert set(data["timings_ms"]) >= {"clean", "assemble", "lift", "encode", "solve", "total"}


def test_bad_option_is_a_value_error():
    with pytest.raises(ValueError, match="unknown observable"):
        check("nop", "nop", live_out=["x99"])


def test_timeout_gives_unknown():
    # A mixed boolean-arithmetic identity: x*y == (x&y)*(x|y) + (x&~y)*(~x&y). True, but 64-bit
    # multipliers are what bit-blasting SAT solvers cannot get through in half a second.
    source = "mul x0, x1, x2"
    candidate = "and x3, x1, x2\norr x4, x1, x2\nmul x3, x3, x4\nbic x5, x1, x2\nbic x6, x2, x1\nmul x5, x5, x6\nadd x0, x3, x5"
    result = check(source, candidate, live_out=["x0"], timeout=0.5)
    assert result.verdict == Verdict.unknown
    assert "time limit" in result.reason and "x0" in result.reason


def test_sum_of_monomials_normalisation_decides_strength_reduction():
    source = "add x2, x0, x1\nmul x0, x2, x2"
    candidate = "mul x6, x0, x0\nmul x7, x1, x1\nmul x8, x0, x1\nadd x0, x6, x7\nadd x0, x0, x8, lsl #1"
    assert check(source, candidate, live_out=["x0"], timeout=2).verdict == Verdict.equivalent


@pytest.mark.parametrize("candidate, what", [
    ("adr x0, .", "PC-relative address"),
    ("adrp x0, 1f\n1: nop", "label inside the snippet"),
    ("add x0, x0, :tprel_lo12:sym", "reference to symbol sym (R_AARCH64_TLSLE_ADD_TPREL_LO12)"),
    ("ldp x0, x0, [x1]", "unpredictable"),
    ("ldr w0, =foo", "R_AARCH64_ABS32 reference to symbol foo in a literal pool"),
])
def test_position_dependent_and_unpredictable_code_is_unsupported_with_its_line(candidate, what):
    result = check("nop", "nop\n" + candidate)
    assert result.verdict == Verdict.unsupported, result.reason
    (item,) = result.unsupported
    assert what in item.what and item.line == 2, item


@pytest.mark.parametrize("source, candidate", [
    ("ldr x0, =0x123456789abc", "movz x0, #0x9abc\nmovk x0, #0x5678, lsl #16\nmovk x0, #0x1234, lsl #32"),
    ("ldr w0, =0x12345678\nldr x1, =0x1", "mov w0, #0x5678\nmovk w0, #0x1234, lsl #16\nmov x1, #1"),
    ("ldrsw x0, =0x80000000", "mov x0, #-0x80000000"),
    ("ldr d0, =0x3ff0000000000000", "fmov d0, #1.0"),
    ("ldr q0, =0x0", "movi v0.2d, #0"),
    ("nop\nldr w0, 1f\n1: nop", "nop\nmov w0, #0x201f\nmovk w0, #0xd503, lsl #16\nnop"),  # its own code
])
def test_literal_loads_of_the_snippets_own_bytes_are_constants(source, candidate):
    result = check(source, candidate)
    assert result.verdict == Verdict.equivalent, result.reason


def test_a_wrong_literal_is_caught_and_replayed():
    result = check("ldr x0, =0x1111\nldr x1, [x2]\nadd x0, x0, x1", "ldr x1, [x2]\nadd x0, x1, #0x1000")
    cex = assert_not_equivalent(result, "x0")
    assert cex.confirmed


def test_rotate_and_mask_shifts_normalise_like_multiplications():
    # VEX writes `lsl w11, w9, #2` as a rotate and a mask; 4x - x must meet x + 2x without bit-blasting.
    source = "lsl w11, w9, #2\nsub w11, w11, w9\nlsr x3, x4, #3\nubfx x5, x6, #4, #8"
    candidate = "add w11, w9, w9, lsl #1\nlsr x3, x4, #3\nubfx x5, x6, #4, #8"
    result = check(source, candidate)
    assert result.verdict == Verdict.equivalent, result.reason


def test_package_level_check_stays_callable():
    import verifier

    assert verifier.check("nop", "nop").verdict == Verdict.equivalent
    assert verifier.check("nop", "nop").verdict == Verdict.equivalent  # not shadowed by a submodule


def test_misspelt_option_is_rejected():
    with pytest.raises(ValueError, match="livout"):
        check("nop", "nop", livout=["x0"])
