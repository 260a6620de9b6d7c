"""`a64eq report`: the numbers of a graded run, as a terminal table, Markdown, or CSV.

`build` computes everything once (`Report`); the renderers only lay it out. The HTML page (`html.py`)
uses the same `Report`.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass

from ..cli import _table
from ..result import Verdict
from .cost import LATENCY
from .metrics import (
    ModelRow,
    ReferenceAudit,
    bleu_signature,
    model_rows,
    reference_audit,
)
from .output import Graded
from .taxonomy import CLASSES, Mistake, mistakes

VERDICTS = tuple(verdict.value for verdict in Verdict)
HEADER = ("Model", "n", "Syntactic", "EMR", "BLEU", *(v.replace("_", " ").capitalize() for v in VERDICTS),
          "Improved", "Matches/beats ref")
NOTES = (
    ("Syntactic: the candidate assembles. EMR: equal to the reference after normalising whitespace, comments, "
     "case and register aliases. Verdict columns add up to n."),
    ("Improved: equivalent and cheaper than the source; Matches/beats ref: equivalent and no more expensive than "
     "the reference. Cost = (latency estimate, instruction count); cycles per instruction class: "
     + ", ".join(f"{name} {cycles}" for name, cycles in LATENCY.items()) + "."),
)


@dataclass
class Report:
    graded: list[Graded]
    rows: list[ModelRow]
    mistakes: list[Mistake]
    audit: ReferenceAudit
    bleu_signature: str

    def taxonomy_counts(self) -> dict[str, Counter]:
        """model -> class -> count."""
        counts: dict[str, Counter] = {model: Counter() for model in self.models}
        for mistake in self.mistakes:
            counts[mistake.graded.model][mistake.kind] += 1
        return counts

    @property
    def models(self) -> list[str]:
        return sorted({g.model for g in self.graded})

    def examples(self, kind: str, count: int = 3) -> list[Mistake]:
        return [m for m in self.mistakes if m.kind == kind][:count]


def build(graded: list[Graded]) -> Report:
    return Report(graded, model_rows(graded), mistakes(graded), reference_audit(graded), bleu_signature())


def _share(count: int, total: int, with_total: bool = False) -> str:
    if total == 0:
        return "-"
    shown = f"{count}/{total}" if with_total else str(count)
    return f"{shown} ({100 * count / total:.1f}%)"


def cells(row: ModelRow) -> tuple[str, ...]:
    """One row of the main table as displayed (terminal, Markdown and HTML)."""
    return (
        row.model, str(row.n), _share(row.syntactic, row.n),
        _share(row.exact_match, row.with_reference, True),
        "-" if row.bleu is None else f"{row.bleu:.1f}",
        *(_share(row.verdicts[v], row.n) for v in VERDICTS),
        _share(row.improved, row.n),
        _share(row.matches_or_beats_reference, row.with_reference, True),
    )


def audit_lines(audit: ReferenceAudit) -> list[str]:
    if audit.pairs == 0:
        return ["No references were given."]
    counts = ", ".join(f"{audit.verdicts[v]} {v.replace('_', ' ')}" for v in VERDICTS if audit.verdicts[v])
    lines = [f"{audit.pairs} distinct (source, reference) pair(s): {counts}."]
    if audit.examples:
        lines.append("Not every reference is proved equivalent to its source under the chosen observables "
                     "(a dataset built from compiler output need not be); examples:")
        lines += [f"{g.id} ({g.model}): {g.reference_result.verdict.value}: {g.reference_result.reason}"
                  for g in audit.examples]
    return lines


def render_terminal(report: Report) -> str:
    out = ["Per model", *_table([cells(row) for row in report.rows], HEADER), ""]
    out += [f"  {note}" for note in NOTES]
    out += [f"  BLEU: sacrebleu {report.bleu_signature}, over assembly tokens (see `a64eq report --help`).", ""]
    out += ["Reference audit", *(f"  {line}" for line in audit_lines(report.audit)), ""]
    counts = report.taxonomy_counts()
    out += ["Error taxonomy (invalid or not-equivalent candidates)",
            *_table([(model, *(str(counts[model][k]) for k in CLASSES), str(sum(counts[model].values())))
                     for model in report.models], ("Model", *CLASSES, "total"))]
    for kind in CLASSES:
        for mistake in report.examples(kind):
            out.append(f"  [{kind}] {mistake.graded.id} ({mistake.graded.model}): {mistake.detail}")
    return "\n".join(out)


def _markdown_row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(str(cell).replace("|", "\\|").replace("\n", " ") for cell in cells) + " |"


def _markdown_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> list[str]:
    return [_markdown_row(header), "|" + "---|" * len(header), *map(_markdown_row, rows)]


def render_markdown(report: Report) -> str:
    out = ["## Per model", "", *_markdown_table([cells(row) for row in report.rows], HEADER), ""]
    out += [*(f"- {note}" for note in NOTES), f"- BLEU: sacrebleu `{report.bleu_signature}` over assembly tokens.", ""]
    out += ["## Reference audit", "", *audit_lines(report.audit), ""]
    counts = report.taxonomy_counts()
    out += ["## Error taxonomy", "",
            *_markdown_table([(model, *(str(counts[model][k]) for k in CLASSES)) for model in report.models],
                             ("Model", *CLASSES)), ""]
    for kind in CLASSES:
        for mistake in report.examples(kind):
            out.append(f"- **{kind}** `{mistake.graded.id}` ({mistake.graded.model}): {mistake.detail}")
    return "\n".join(out) + "\n"


CSV_COLUMNS = ("model", "n", "syntactic", "with_reference", "exact_match", "bleu", *VERDICTS, "improved",
               "matches_or_beats_reference")


def render_csv(report: Report) -> str:
    """The main table as counts (rates are count / n, or count / with_reference for EMR and the last column)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        writer.writerow([row.model, row.n, row.syntactic, row.with_reference, row.exact_match,
                         "" if row.bleu is None else f"{row.bleu:.2f}", *(row.verdicts[v] for v in VERDICTS),
                         row.improved, row.matches_or_beats_reference])
    return buffer.getvalue()
