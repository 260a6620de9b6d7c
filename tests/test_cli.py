"""The `a64eq check` command as a person or a script runs it: real process, real files, exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def a64eq(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "verifier.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_equivalent_files_exit_0():
    run = a64eq("check", str(EXAMPLES / "01-double-is-shift/source.s"), str(EXAMPLES / "01-double-is-shift/candidate.s"))
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("EQUIVALENT")


def test_not_equivalent_prints_inputs_and_differences_exit_1():
    run = a64eq("check", str(EXAMPLES / "03-alias-reorder/source.s"), str(EXAMPLES / "03-alias-reorder/candidate.s"))
    assert run.returncode == 1, run.stderr
    assert "NOT EQUIVALENT" in run.stdout
    assert "Inputs" in run.stdout and "Differences" in run.stdout
    assert "x2" in run.stdout and "confirmed" in run.stdout


def test_invalid_exit_2_names_line_and_kind():
    run = a64eq("check", "--text", "nop", "nop\\naddd x0, x1, x2")
    assert run.returncode == 2
    assert "line 2" in run.stdout and "[opcode]" in run.stdout


def test_json_output_has_the_result_fields():
    run = a64eq("check", "--json", "--text", "adds x0,x1,x2", "add x0,x1,x2")
    assert run.returncode == 1
    data = json.loads(run.stdout)
    assert data["verdict"] == "not_equivalent"
    assert data["counterexample"]["confirmed"] is True
    assert data["counterexample"]["differences"][0]["location"] == "nzcv"


def test_live_out_option_and_standard_input():
    run = a64eq("check", "--live-out", "x0", "-", str(EXAMPLES / "05-flags-dropped/candidate.s"),
                stdin=(EXAMPLES / "05-flags-dropped/source.s").read_text())
    assert run.returncode == 0, run.stdout + run.stderr


def test_bad_option_and_missing_file_exit_2_without_traceback():
    bad = a64eq("check", "--live-out", "x99", "--text", "nop", "nop")
    assert bad.returncode == 2 and "unknown observable" in bad.stderr and "Traceback" not in bad.stderr
    missing = a64eq("check", "/nonexistent/a.s", "/nonexistent/b.s")
    assert missing.returncode == 2 and "cannot read" in missing.stderr and "Traceback" not in missing.stderr


def test_unsupported_exit_2_names_the_instruction():
    run = a64eq("check", "--text", "nop", "bl 1f\n1: nop")
    assert run.returncode == 2
    assert "UNSUPPORTED" in run.stdout and "bl 1f" in run.stdout


def test_bounded_equivalence_is_not_exit_0():
    run = a64eq("check", "--live-out", "x0", "--unroll", "3", "--text", "1: subs x0, x0, #1\nb.ne 1b", "mov x0, #0")
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stdout.startswith("BOUNDED EQUIVALENT")


# x / y * y against x in IEEE double: false (0 / 0 is a NaN), but Z3 needs 2-14 s of FP solving to find it.
HARD_FP = ("fdiv d0, d1, d2\\nfmul d0, d0, d2", "fmov d0, d1")


def test_fp_timeout_flag_bounds_fp_queries_only():
    run = a64eq("check", "--json", "--live-out", "d0", "--timeout", "60", "--fp-timeout", "0.05", "--text", *HARD_FP)
    assert run.returncode == 2, run.stdout + run.stderr
    data = json.loads(run.stdout)
    assert data["verdict"] == "unknown"
    assert "FP time limit of 0.05 s (fp_timeout" in data["reason"] and "d0" in data["reason"]
    assert data["options"]["fp_timeout"] == 0.05 and data["options"]["timeout"] == 60
    default = json.loads(a64eq("check", "--json", "--text", "nop", "nop").stdout)
    assert default["options"]["fp_timeout"] == 30.0 and default["options"]["timeout"] == 10.0


def test_bad_fp_timeout_exits_2_with_a_one_line_message():
    for value, message in [("0", "fp_timeout: Input should be greater than 0"),
                           ("7200", "fp_timeout: Input should be less than or equal to 3600"),
                           ("soon", "argument --fp-timeout: invalid float value: 'soon'")]:
        run = a64eq("check", "--fp-timeout", value, "--text", "nop", "nop")
        assert run.returncode == 2 and message in run.stderr, run.stderr
        assert "Traceback" not in run.stderr and not run.stdout
