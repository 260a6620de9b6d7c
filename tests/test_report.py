"""`a64eq report` on the shipped corpus, graded for real: every number against a hand-computed value."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU

from verifier.grading.asmtokens import normalise
from verifier.grading.cost import Cost, cost, instruction_class
from verifier.grading.output import read_results
from verifier.grading.taxonomy import classify
from verifier.result import Instruction, SnippetReport

DATA = Path(__file__).resolve().parent / "data" / "grading"
EXPECTED = json.loads((DATA / "expected.json").read_text())
CORPUS = [json.loads(line) for line in (DATA / "corpus.jsonl").read_text().splitlines()]


def a64eq(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "verifier.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def graded_corpus(tmp_path_factory) -> Path:
    """The corpus graded through the CLI into a session-wide file (a later call resumes: nothing to do)."""
    base = tmp_path_factory.getbasetemp()
    results = base / "report-results.jsonl"
    run = a64eq("grade", DATA / "corpus.jsonl", "-o", results, "--cache", base / "report-cache.sqlite")
    assert run.returncode == 0, run.stderr
    return results


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    return graded_corpus(tmp_path_factory)


def expected_bleu(model: str) -> float:
    """sacrebleu on the hand-normalised texts of expected.json (tokenize='none', as the report states)."""
    pairs = [pair for record_id, pair in EXPECTED["normalised"].items()
             if model == "(all models)" or record_id.startswith(model + "/")]
    return BLEU(tokenize="none").corpus_score([c for c, _ in pairs], [[r for _, r in pairs]]).score


def test_csv_table_matches_hand_counts(results):
    run = a64eq("report", results, "--format", "csv")
    assert run.returncode == 0, run.stderr
    rows = {row["model"]: row for row in csv.DictReader(io.StringIO(run.stdout))}
    assert rows.keys() == EXPECTED["table"].keys()
    for model, expected in EXPECTED["table"].items():
        counts = {name: int(rows[model][name]) for name in expected}
        assert counts == expected, model
        assert float(rows[model]["bleu"]) == pytest.approx(expected_bleu(model), abs=0.005), model


def test_normalised_texts_are_what_bleu_and_emr_compare():
    records = {r["id"]: r for r in CORPUS}
    for record_id, (candidate, reference) in EXPECTED["normalised"].items():
        assert normalise(records[record_id]["candidate"]).replace("\n", " ; ") == candidate, record_id
        assert normalise(records[record_id]["reference"]).replace("\n", " ; ") == reference, record_id


def test_terminal_and_markdown_show_the_table_the_taxonomy_and_the_audit(results):
    terminal = a64eq("report", results)
    assert terminal.returncode == 0, terminal.stderr
    alpha = next(line.split() for line in terminal.stdout.splitlines() if line.strip().startswith("alpha "))
    # n, syntactic, EMR (of records with a reference), BLEU, verdicts, improved, matches/beats
    assert alpha[:8] == ["alpha", "12", "10", "(83.3%)", "3/10", "(30.0%)", f"{expected_bleu('alpha'):.1f}", "4"]
    assert "tok:none" in terminal.stdout
    assert "7 distinct (source, reference) pair(s): 6 equivalent, 1 not equivalent." in terminal.stdout
    assert "alpha/07 (alpha): not_equivalent: nzcv differs" in terminal.stdout
    beta_taxonomy = next(line.split() for line in terminal.stdout.splitlines()
                         if line.strip().startswith("beta ") and len(line.split()) == 8)
    assert beta_taxonomy == ["beta", "1", "1", "1", "1", "0", "2", "6"]  # opcode .. other, total

    markdown = a64eq("report", results, "--format", "markdown").stdout
    assert "| beta | 12 | 9 (75.0%) | 2/9 (22.2%) |" in markdown
    assert "## Reference audit" in markdown and "## Error taxonomy" in markdown


def test_taxonomy_classes_and_examples(results):
    graded = read_results(results)
    found = {g.id: mistake.kind for g in graded if (mistake := classify(g)) is not None}
    assert found == EXPECTED["taxonomy"]
    terminal = a64eq("report", results).stdout
    assert "[multiple] alpha/10 (alpha): reference `add` -> candidate `sub` (+1 more)" in terminal
    assert "[label] alpha/09 (alpha): reference `.L2` -> candidate `.L3`" in terminal
    # beta/08 repeats a reference that is itself wrong: it is compared with the source instead
    assert "[opcode] beta/08 (beta): source `adds` -> candidate `add`" in terminal
    for kind in ("opcode", "register", "immediate", "label", "multiple", "other"):
        assert 1 <= terminal.count(f"  [{kind}] ") <= 3, kind


def test_emr_normalises_whitespace_comments_case_and_register_aliases():
    assert normalise("```asm\nADD  X29, fp,lr // frame\n```") == normalise("add x29, x29, x30")
    assert normalise("ldr x0,[x1,#8]!") == "ldr x0 , [ x1 , #8 ] !"
    assert normalise("b.eq .Lfoo") != normalise("b.eq .LFOO")  # labels keep their case


def _snippet(*lines: str) -> SnippetReport:
    return SnippetReport(instructions=[Instruction(line=i + 1, offset=4 * i, text=text, encoding="0")
                                       for i, text in enumerate(lines)])


def test_cost_is_latency_then_instruction_count():
    assert [instruction_class(t) for t in ("add x0, x1, x2, lsl #2", "udiv x0, x1, x2", "ldp x0, x1, [sp]",
                                           "b.ne .L3", "fadd d0, d1, d2", "csel x0, x1, x2, eq")] == \
        ["shifted operand", "divide", "load", "branch", "fp/simd", "alu"]
    assert cost(_snippet("mov x2, #4", "mul x0, x1, x2")) == Cost(4, 2)
    assert cost(_snippet("lsl x3, x2, #2", "add x0, x1, x3")) == Cost(2, 2) > cost(_snippet("add x0, x1, x2, lsl #2"))
    assert cost(_snippet("udiv x0, x1, x2")) > cost(_snippet("lsr x0, x1, #1", "lsr x0, x0, #1", "nop"))
