"""`a64eq` command line. Exit status follows diff(1): 0 equivalent, 1 not equivalent, 2 anything else."""

from __future__ import annotations

import argparse
import json
import sys

from .result import Result, Verdict

EXIT_STATUS = {Verdict.equivalent: 0, Verdict.not_equivalent: 1}


def _read(argument: str, inline: bool) -> str:
    if inline:
        return argument.replace("\\n", "\n")
    if argument == "-":
        return sys.stdin.read()
    with open(argument, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def check_options(args: argparse.Namespace) -> dict:
    """The Options fields from the arguments `add_check_options` defined."""
    options = {"preset": args.preset, "timeout": args.timeout, "fp_timeout": args.fp_timeout,
               "replay": not args.no_replay, "unroll": args.unroll}
    if args.live_out:
        options["live_out"] = [name for name in args.live_out.split(",") if name.strip()]
    return options


def option_error(exc: ValueError) -> str:
    """A bad option in one line: `fp_timeout: Input should be greater than 0` rather than pydantic's report."""
    errors = getattr(exc, "errors", None)
    if callable(errors):  # pydantic.ValidationError
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in errors())
    return str(exc)


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  " + "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return [line(header), line(tuple("-" * w for w in widths)), *map(line, rows)]


def render(result: Result) -> str:
    """A readable report: verdict, reason, and for a counterexample its inputs and differences."""
    out = [f"{result.verdict.value.upper().replace('_', ' ')}: {result.reason}"]
    for name in ("source", "candidate"):
        report = getattr(result, name)
        if report.error:
            e = report.error
            where = f"line {e.line}" + (f", column {e.column}" if e.column else "") if e.line else "input"
            out.append(f"  {name} {where}: [{e.kind}] {e.message}")
    for item in result.unsupported:
        where = f"line {item.line}" if item.line else "?"
        out.append(f"  {item.snippet} {where}: {item.instruction or ''} -> {item.what}")
    cex = result.counterexample
    if cex:
        out.append("")
        out.append("Inputs (everything not listed is irrelevant):")
        rows = [(name, value) for name, value in cex.inputs.registers.items()]
        if cex.inputs.flags:
            rows.append(("nzcv", " ".join(f"{k}={v}" for k, v in cex.inputs.flags.items())))
        rows += [(f"&{name}", value) for name, value in cex.inputs.symbols.items()]
        rows += [(f"mem[{m.address}]", m.bytes) for m in cex.inputs.memory]
        out += _table(rows, ("input", "value")) if rows else ["  (any state)"]
        out.append("")
        out.append("Differences:")
        out += _table([(d.location, d.source, d.candidate) for d in cex.differences], ("where", "source", "candidate"))
        out.append("")
        out.append(f"Exits: source {cex.source_exit.describe()}, candidate {cex.candidate_exit.describe()}")
        if cex.confirmed:
            out.append("Replayed on unicorn: confirmed.")
        else:
            out.append(f"Replay: NOT confirmed ({cex.replay_note})")
    timings = ", ".join(f"{k} {v:.1f}" for k, v in result.timings_ms.items())
    out.append(f"\n[{timings} ms; a64eq {result.version}]")
    return "\n".join(out)


def _cmd_check(args: argparse.Namespace) -> int:
    from . import check

    try:
        source, candidate = _read(args.source, args.text), _read(args.candidate, args.text)
    except OSError as exc:
        print(f"a64eq: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        result = check(source, candidate, **check_options(args))
    except ValueError as exc:
        print(f"a64eq: bad option: {option_error(exc)}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # the environment, e.g. the assembler is not installed
        print(f"a64eq: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
    else:
        print(render(result))
    return EXIT_STATUS.get(result.verdict, 2)


def add_check_options(parser: argparse.ArgumentParser) -> None:
    """The options of one check (`verifier.result.Options`), shared by `check` and `grade`."""
    parser.add_argument("--live-out", metavar="LIST",
                        help="observables to compare, e.g. x0,x1,flags,memory (default: all)")
    parser.add_argument("--preset", choices=["all", "aapcs64"], default="all", help="named observable set")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="time limit of the check, floating-point queries excepted (default 10)")
    parser.add_argument("--fp-timeout", type=float, default=30.0, metavar="SECONDS",
                        help="time limit of the floating-point solver queries, together; not charged to "
                             "--timeout (default 30)")
    parser.add_argument("--no-replay", action="store_true", help="do not replay counterexamples on unicorn")
    parser.add_argument("--unroll", type=int, default=8, metavar="N",
                        help="unroll loops N times (default 8); a proof that holds only up to N is reported as "
                             "bounded_equivalent (exit status 2)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="a64eq", description="Formal equivalence checking of AArch64 rewrites.")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="is CANDIDATE equivalent to SOURCE?",
                                description="Exit status: 0 equivalent, 1 not equivalent, 2 otherwise.")
    check.add_argument("source", help="file with the original snippet ('-' for standard input)")
    check.add_argument("candidate", help="file with the rewrite ('-' for standard input)")
    check.add_argument("-t", "--text", action="store_true",
                       help="SOURCE and CANDIDATE are the snippets themselves (';' or '\\n' separate lines)")
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    add_check_options(check)
    check.set_defaults(func=_cmd_check)

    from api.cli import add_commands as add_service_commands
    from .grading.cli import add_commands as add_grading_commands

    add_service_commands(commands)
    add_grading_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check" and args.source == "-" and args.candidate == "-" and not args.text:
        print("a64eq: only one of SOURCE and CANDIDATE can be standard input", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except BrokenPipeError:  # `a64eq check ... | head`: the reader left, nothing more to say
        sys.stderr.close()
        return 2


if __name__ == "__main__":
    sys.exit(main())
