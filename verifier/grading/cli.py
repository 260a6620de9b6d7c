"""`a64eq grade` and `a64eq report`: registered by verifier.cli; heavy imports happen when a command runs."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from ..cli import add_check_options, check_options, option_error

GRADE_DESCRIPTION = """\
Check every record of INPUT (candidate against source, and reference against source when given) and
append one JSON line per record to OUTPUT: the record's fields plus `result` and `reference_result`.

INPUT is JSONL (one record per line), a JSON list, a CSV with a header row, or a directory of .s files.
Records have `id`, `source`, `candidate`, and optionally `reference`, `model`, and `options` (an object
of check options overriding the command line's for that record; a JSON object in CSV).
Directory layout: NAME.source.s + NAME.candidate.s (+ NAME.reference.s) is record NAME; files inside a
subdirectory MODEL/ are records MODEL/NAME of model MODEL.

Running the same command again continues an interrupted or killed run: ids already in OUTPUT (with the
same options and a64eq version) are skipped. Results are cached on disk by content, so identical pairs
are never checked twice (`unknown` included; --retry-unknown checks those again). Exit status: 0 done, 2 bad input, 130 interrupted.
"""

REPORT_DESCRIPTION = """\
Per-model table (n, Syntactic, EMR, BLEU, verdicts, Improved, Matches/beats reference), the reference
audit and the error taxonomy of one or more results files written by `a64eq grade`.
BLEU is sacrebleu corpus BLEU-4 with tokenize='none' over assembly tokens: mnemonic, registers
(aliases fp/lr/ip0/ip1 renamed), immediates and each punctuation mark, ';' between statements.
"""


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add the grading subcommands to the `a64eq` parser."""
    grade = commands.add_parser("grade", help="check every record of a model run", description=GRADE_DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    grade.add_argument("input", help="records: .jsonl, .json (a list), .csv, or a directory of .s files")
    grade.add_argument("-o", "--output", required=True, help="results file (JSONL), appended to")
    grade.add_argument("-j", "--workers", type=int, help="parallel checks (default: all cores / all cluster CPUs)")
    grade.add_argument("--backend", choices=["local", "ray"], default="local",
                       help="local worker processes (default) or an existing Ray cluster")
    grade.add_argument("--address", help="Ray cluster address (with --backend ray), e.g. 10.0.0.5:6379")
    grade.add_argument("--cache", metavar="PATH", help="result cache file (default: ~/.cache/a64eq/results.sqlite)")
    grade.add_argument("--no-cache", action="store_true", help="neither read nor write the result cache")
    grade.add_argument("--retry-unknown", action="store_true",
                       help="check again the pairs whose cached verdict is unknown (e.g. after a run on a busy machine)")
    grade.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="show the progress line (default: when standard error is a terminal)")
    add_check_options(grade)
    grade.set_defaults(func=_cmd_grade)

    report = commands.add_parser("report", help="metrics, reference audit and error taxonomy of graded runs",
                                 description=REPORT_DESCRIPTION)
    report.add_argument("results", nargs="+", help="results files written by `a64eq grade`")
    report.add_argument("--format", choices=["terminal", "markdown", "csv"], default="terminal",
                        help="how to print the report (csv: the per-model table only)")
    report.add_argument("--html", metavar="PATH", help="also write a self-contained HTML page with charts")
    report.set_defaults(func=_cmd_report)


def _stop_on_sigterm() -> None:
    """`kill` stops the grader as cleanly as Ctrl-C does."""
    def interrupt(_signum, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)


def _cmd_grade(args: argparse.Namespace) -> int:
    from ..pool import validate_options
    from .backends import BackendError, LocalBackend, RayBackend
    from .cache import ResultCache, default_path
    from .records import InputError, read_records
    from .runner import grade

    base_options = check_options(args)
    try:
        validate_options(base_options)
    except ValueError as exc:
        print(f"a64eq grade: bad option: {option_error(exc)}", file=sys.stderr)
        return 2
    try:
        records = read_records(args.input, base_options)
    except (ValueError, InputError, OSError) as exc:
        print(f"a64eq grade: {exc}", file=sys.stderr)
        return 2
    if args.address and args.backend != "ray":
        print("a64eq grade: --address needs --backend ray", file=sys.stderr)
        return 2

    def make_backend():
        return RayBackend(args.address, args.workers) if args.backend == "ray" else LocalBackend(args.workers)

    _stop_on_sigterm()
    cache = None if args.no_cache else ResultCache(args.cache or default_path())
    output = Path(args.output)
    show_progress = args.progress if args.progress is not None else sys.stderr.isatty()
    try:
        stats = grade(records, output, base_options=base_options, make_backend=make_backend, cache=cache,
                      retry_unknown=args.retry_unknown, show_progress=show_progress)
    except (InputError, BackendError) as exc:
        print(f"a64eq grade: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\na64eq grade: interrupted; every finished record is in {output}. "
              "Run the same command again to continue.", file=sys.stderr)
        return 130
    finally:
        if cache is not None:
            cache.close()
    print(stats.summary(), file=sys.stderr)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .output import read_results
    from .records import InputError
    from .report import build, render_csv, render_markdown, render_terminal

    graded = []
    try:
        for path in args.results:
            graded += read_results(Path(path))
    except (InputError, OSError) as exc:
        print(f"a64eq report: {exc}", file=sys.stderr)
        return 2
    ids = [g.id for g in graded]
    if len(set(ids)) != len(ids):
        print("a64eq report: the same id appears more than once in the results", file=sys.stderr)
        return 2
    report = build(graded)
    render = {"terminal": render_terminal, "markdown": render_markdown, "csv": render_csv}[args.format]
    print(render(report), end="" if args.format != "terminal" else "\n")
    if args.html:
        from .html import render_html

        Path(args.html).write_text(render_html(report), encoding="utf-8")
    return 0
