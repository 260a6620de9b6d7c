"""`a64eq report --html`: one self-contained page (no CDN, no scripts) with the report and its charts.

The charts are drawn by matplotlib (Agg, no display needed) and embedded as inline SVG: one bar chart
per metric with a bar per model, the error taxonomy as stacked bars, the distribution of check times
per verdict, then example counterexamples as the `a64eq check` report prints them.
"""

from __future__ import annotations

import io
from html import escape

from ..cli import render
from ..result import Verdict
from .metrics import ALL_MODELS
from .report import HEADER, NOTES, VERDICTS, Report, audit_lines, cells
from .taxonomy import CLASSES

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: left; }
#metrics td, #taxonomy td { text-align: right; }
#metrics td:first-child, #taxonomy td:first-child { text-align: left; }
pre { background: #f4f4f4; padding: 0.8em; overflow-x: auto; }
figure { margin: 1em 0; } svg { max-width: 100%; height: auto; }
"""


def _svg(figure) -> str:
    """A matplotlib figure as an inline <svg> element (the XML prologue dropped)."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _metric_charts(report: Report) -> str:
    import matplotlib.pyplot as plt

    rows = [row for row in report.rows if row.model != ALL_MODELS]
    metrics = [
        ("Syntactic %", lambda r: 100 * r.syntactic / r.n),
        ("EMR %", lambda r: 100 * r.exact_match / r.with_reference if r.with_reference else 0),
        ("BLEU", lambda r: r.bleu or 0),
        *((f"{v.replace('_', ' ').capitalize()} %", lambda r, v=v: 100 * r.verdicts[v] / r.n) for v in VERDICTS),
        ("Improved %", lambda r: 100 * r.improved / r.n),
        ("Matches/beats ref %",
         lambda r: 100 * r.matches_or_beats_reference / r.with_reference if r.with_reference else 0),
    ]
    columns = 4
    figure, axes = plt.subplots((len(metrics) + columns - 1) // columns, columns,
                                figsize=(3.2 * columns, 2.4 * ((len(metrics) + columns - 1) // columns)),
                                squeeze=False)
    names = [row.model for row in rows]
    for axis, (title, value) in zip(axes.flat, metrics):
        axis.bar(names, [value(row) for row in rows], color="#4878a8")
        axis.set_title(title, fontsize=10)
        axis.set_ylim(0, 100)
        axis.tick_params(axis="x", labelrotation=30, labelsize=8)
    for axis in list(axes.flat)[len(metrics):]:
        axis.set_visible(False)
    figure.tight_layout()
    return _svg(figure)


def _taxonomy_chart(report: Report) -> str:
    import matplotlib.pyplot as plt

    counts = report.taxonomy_counts()
    figure, axis = plt.subplots(figsize=(7, 3.2))
    bottom = [0] * len(report.models)
    for kind in CLASSES:
        heights = [counts[model][kind] for model in report.models]
        axis.bar(report.models, heights, bottom=bottom, label=kind)
        bottom = [b + h for b, h in zip(bottom, heights)]
    axis.set_ylabel("mistakes")
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
    axis.set_title("Error taxonomy (invalid or not-equivalent candidates)", fontsize=10)
    return _svg(figure)


def _time_chart(report: Report) -> str:
    import matplotlib.pyplot as plt
    import numpy

    figure, axis = plt.subplots(figsize=(7, 3.2))
    times = {v: [g.result.timings_ms.get("total") for g in report.graded if g.result.verdict.value == v]
             for v in VERDICTS}
    times = {v: [t for t in ts if t] for v, ts in times.items()}
    everything = [t for ts in times.values() for t in ts]
    if everything:
        bins = numpy.geomspace(max(min(everything), 0.1), max(everything) * 1.01 + 0.1, 30)
        shown = [(v, ts) for v, ts in times.items() if ts]
        axis.hist([ts for _, ts in shown], bins=bins, stacked=True, label=[v for v, _ in shown])
        axis.set_xscale("log")
        axis.legend(fontsize=8)
    axis.set_xlabel("check time (ms, log scale)")
    axis.set_ylabel("checks")
    axis.set_title("Verdict time distribution", fontsize=10)
    return _svg(figure)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], table_id: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _counterexamples(report: Report, count: int = 3) -> str:
    wrong = [g for g in sorted(report.graded, key=lambda g: (g.model, g.id))
             if g.result.verdict == Verdict.not_equivalent][:count]
    if not wrong:
        return "<p>No candidate was proved not equivalent.</p>"
    parts = []
    for g in wrong:
        parts.append(f"<h3>{escape(g.id)} ({escape(g.model)})</h3>"
                     f"<p>Source:</p><pre>{escape(g.source)}</pre><p>Candidate:</p><pre>{escape(g.candidate)}</pre>"
                     f"<pre class=\"counterexample\">{escape(render(g.result))}</pre>")
    return "\n".join(parts)


def render_html(report: Report) -> str:
    import matplotlib

    matplotlib.use("Agg")
    counts = report.taxonomy_counts()
    examples = [(kind, m.graded.id, m.graded.model, m.detail) for kind in CLASSES for m in report.examples(kind)]
    notes = "".join(f"<li>{escape(note)}</li>" for note in NOTES)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>a64eq grading report</title><style>{_STYLE}</style></head>
<body>
<h1>a64eq grading report</h1>
<h2>Per model</h2>
{_table(HEADER, [cells(row) for row in report.rows], "metrics")}
<ul>{notes}<li>BLEU: sacrebleu <code>{escape(report.bleu_signature)}</code> over assembly tokens.</li></ul>
<figure>{_metric_charts(report)}</figure>
<h2>Reference audit</h2>
{"".join(f"<p>{escape(line)}</p>" for line in audit_lines(report.audit))}
<h2>Error taxonomy</h2>
{_table(("Model", *CLASSES), [(m, *(str(counts[m][k]) for k in CLASSES)) for m in report.models], "taxonomy")}
<figure>{_taxonomy_chart(report)}</figure>
{_table(("Class", "Id", "Model", "What differs"), examples, "taxonomy-examples")}
<h2>Check times</h2>
<figure>{_time_chart(report)}</figure>
<h2>Example counterexamples</h2>
{_counterexamples(report)}
</body></html>
"""
