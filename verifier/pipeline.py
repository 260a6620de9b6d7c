"""One check, end to end: text -> statements -> machine code -> IR -> SMT -> verdict -> counterexample.

Every way a check can end is a `Result`: input errors are `invalid`, anything not modelled exactly is
`unsupported` (named, with its line), a solver that gives up is `unknown`. Exceptions from the pipeline
stages are turned into verdicts here and nowhere else.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager

import pyvex
import z3

from . import __version__
from .assemble import Program, assemble
from .counterexample import (
    differences, initial_memory, inputs, limit_solver, minimise, predict, relevant_inputs, replayable,
)
from .equivalence import Budget, Query, Undecided, build_query, decide, observables_for, preconditions_for
from .errors import NotModelled, SnippetError
from .lift import lift
from .result import (
    Counterexample, InputError, Instruction, Options, Result, SnippetReport, Unsupported, Verdict,
)
from .semantics.execute import run_snippet
from .semantics.state import InitialState
from .symbols import SymbolReference, address_names, address_variable
from .symbols import preconditions as symbol_preconditions
from .text import clean

SNIPPETS = ("source", "candidate")
log = logging.getLogger("a64eq")


class _Timer:
    def __init__(self):
        self.ms: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] = round(self.ms.get(name, 0.0) + (time.perf_counter() - start) * 1000, 3)


def check(source: str, candidate: str, **options) -> Result:
    """Is `candidate` equivalent to `source`? Options: see `verifier.result.Options`.

    Raises ValueError (pydantic's ValidationError is one) for bad options, and RuntimeError when the
    assembler is not installed; never for bad snippets. A bug of ours becomes verdict `unknown` with
    a reason starting "internal error" (and a logged traceback), so one bad pair cannot stop a batch.
    """
    opts = Options(**options)
    observables = observables_for(opts.live_out, opts.preset)
    try:
        return _check(source, candidate, opts, observables)
    except (TimeoutError, z3.Z3Exception, pyvex.PyVEXError, AssertionError, KeyError, TypeError) as exc:
        log.exception("internal error while checking")
        return Result(verdict=Verdict.unknown, reason=f"internal error: {type(exc).__name__}: {exc}",
                      source=SnippetReport(), candidate=SnippetReport(), options=opts, version=__version__)


def _check(source: str, candidate: str, opts: Options, observables) -> Result:
    budget = Budget(opts.timeout, opts.fp_timeout)
    timer = _Timer()
    started = time.perf_counter()

    def finish(verdict: Verdict, reason: str, **fields) -> Result:
        timer.ms["total"] = round((time.perf_counter() - started) * 1000, 3)
        return Result(verdict=verdict, reason=reason, source=reports["source"], candidate=reports["candidate"],
                      options=opts, timings_ms=timer.ms, version=__version__, **fields)

    texts = {"source": source, "candidate": candidate}
    reports = {name: SnippetReport() for name in SNIPPETS}
    programs: dict[str, Program] = {}
    unsupported: list[Unsupported] = []

    # Text -> statements -> machine code. Both snippets are read, so both get their errors reported.
    for name in SNIPPETS:
        try:
            with timer.stage("clean"):
                snippet = clean(texts[name])
            reports[name].dropped = list(snippet.dropped)
            with timer.stage("assemble"):
                programs[name] = assemble(snippet)
            reports[name] = _report(programs[name], snippet.dropped)
        except SnippetError as exc:
            reports[name].error = InputError(kind=exc.kind, line=exc.line, column=exc.column, message=exc.message)
        except NotModelled as exc:
            unsupported.append(Unsupported(snippet=name, what=exc.what, line=exc.line, instruction=exc.instruction))
    invalid = [name for name in SNIPPETS if reports[name].error]
    if invalid:
        error = reports[invalid[0]].error
        where = f"{invalid[0]} line {error.line}" if error.line else invalid[0]
        return finish(Verdict.invalid, f"{where}: {error.message}")

    # Machine code -> IR -> symbolic exits.
    initial = InitialState.fresh()
    exits = {}
    references: list[SymbolReference] = []  # both snippets' symbol references (adrp, :lo12:, ...)
    for name, program in programs.items():
        try:
            with timer.stage("lift"):
                cfg = lift(program)
            references += cfg.references
            with timer.stage("encode"):
                exits[name] = run_snippet(cfg, initial, opts.unroll)
        except NotModelled as exc:
            unsupported.append(_unsupported(name, program, exc))
    if unsupported:
        first = unsupported[0]
        where = f"{first.snippet} line {first.line}" if first.line else first.snippet
        shown = f" `{first.instruction}`" if first.instruction else ""
        return finish(Verdict.unsupported, f"{where}{shown}: {first.what} is not modelled", unsupported=unsupported)

    # SMT -> verdict.
    for symbol in address_names(references):
        initial.symbols[symbol] = address_variable(symbol)
    preconditions = preconditions_for(opts.preset, initial) + symbol_preconditions(references, initial.memory)
    with timer.stage("encode"):
        query = build_query(exits["source"], exits["candidate"], observables, preconditions)
    with timer.stage("solve"):
        decision = decide(query, budget)
    if decision.outcome == z3.unsat and decision.bounded:
        return finish(Verdict.bounded_equivalent,
                      f"equivalent for every input whose loops run at most {opts.unroll} iterations; "
                      f"longer runs exist and were not compared (raise `unroll` to look further)")
    if decision.outcome == z3.unsat:
        return finish(Verdict.equivalent, _equivalent_reason(opts))
    if decision.outcome == z3.unknown:
        return finish(Verdict.unknown, _unknown_reason(decision.undecided, opts))

    with timer.stage("counterexample"), budget.spending(decision.floating_point):
        deadline = budget.deadline(decision.floating_point)  # the budget of the query that found the difference
        counterexample = _counterexample(query, decision.solver, initial, programs, references, opts, deadline, timer,
                                         minimal=not decision.probed)
    if not counterexample.differences:  # the solver's model shows no difference: never a verdict from it
        return finish(Verdict.unknown, "internal error: the solver reported a difference its model does not show")
    first = counterexample.differences[0]
    reason = f"{first.location} differs: source {first.source}, candidate {first.candidate}"
    if not counterexample.confirmed and opts.replay:
        reason += " (NOT confirmed by replay: " + (counterexample.replay_note or "") + ")"
    return finish(Verdict.not_equivalent, reason, counterexample=counterexample)


def _counterexample(query: Query, solver: z3.Solver, initial: InitialState, programs: dict[str, Program],
                    references: list[SymbolReference], opts: Options, deadline: float, timer: _Timer,
                    minimal: bool = True) -> Counterexample:
    """The model as a counterexample, replayed. `minimal`: search for small inputs first (pointless,
    and slow with FP, when a probe state already pins every input)."""
    from .confirm import replay_pair
    from .replay import CODE_BASE

    model = solver.model()
    calls = query.source.final.calls or query.candidate.final.calls
    for callees_write in (False, True) if calls else (False,):  # callees that write memory cost more
        condition = replayable(query, CODE_BASE, references, callees_write)
        solver.push()
        solver.add(condition)  # kept while minimising
        if z3.is_true(model.eval(condition, model_completion=True)):
            break  # the model is replayable as it is: no second search (which costs seconds with FP)
        limit_solver(solver, deadline)
        if solver.check() == z3.sat:
            model = solver.model()
            break
        solver.pop()  # only states the emulator cannot host differ (or time ran out): keep the free model
    if minimal:
        model = minimise(solver, model, initial, relevant_inputs(model, query), deadline)
    memory = initial_memory(model, query, initial)
    predictions = {"source": predict(model, query.source), "candidate": predict(model, query.candidate)}
    counterexample = Counterexample(
        inputs=inputs(model, initial, relevant_inputs(model, query), memory),
        differences=differences(model, query),
        source_exit=predictions["source"].exit,
        candidate_exit=predictions["candidate"].exit,
        confirmed=False,
        replay_note="replay was not requested",
    )
    if opts.replay:
        registers = {name: model.eval(var, model_completion=True).as_long() for name, var in initial.regs.items()}
        nzcv = model.eval(initial.nzcv, model_completion=True).as_long()
        addresses = {name: model.eval(var, model_completion=True).as_long() for name, var in initial.symbols.items()}
        with timer.stage("replay"):
            try:
                confirmed, note = replay_pair(programs, predictions, registers, nzcv, memory, addresses, timeout=10.0)
            except ValueError as exc:  # the emulator cannot host this state or code
                confirmed, note = False, f"could not replay: {exc}"
        counterexample.confirmed, counterexample.replay_note = confirmed, note
    return counterexample


def _unknown_reason(undecided: list[Undecided], opts: Options) -> str:
    """Why the verdict is `unknown`, naming the budget each undecided query ran under."""
    parts = []
    integer = [u for u in undecided if not u.floating_point]
    floating_point = [u for u in undecided if u.floating_point]
    if integer:
        parts.append(f"the solver gave up on {', '.join(map(str, integer))} "
                     f"within the time limit of {opts.timeout:g} s")
    if floating_point:
        whats = ", ".join(u.what for u in floating_point)
        whys = ", ".join(dict.fromkeys(u.why for u in floating_point))
        queries, were = ("query", "was") if len(floating_point) == 1 else ("queries", "were")
        parts.append(f"the floating-point {queries} for {whats} {were} not decided within the FP time limit of "
                     f"{opts.fp_timeout:g} s (fp_timeout; solver: {whys})")
    return "; ".join(parts)


def _report(program: Program, dropped: list[str]) -> SnippetReport:
    return SnippetReport(
        instructions=[
            Instruction(line=i.line, offset=i.offset, text=i.text, encoding=f"{i.encoding:08x}")
            for i in program.instructions
        ],
        dropped=list(dropped),
        labels=dict(program.labels),
        external_labels=list(program.external_labels),
    )


def _unsupported(name: str, program: Program, exc: NotModelled) -> Unsupported:
    instruction = next((i for i in program.instructions if i.offset == exc.offset), None)
    return Unsupported(
        snippet=name,
        line=instruction.line if instruction else None,
        instruction=instruction.text if instruction else None,
        what=exc.what,
    )


def _equivalent_reason(opts: Options) -> str:
    if opts.live_out is not None:
        return "equivalent: same exit and same " + ", ".join(opts.live_out) + " for every initial state"
    if opts.preset == "aapcs64":
        return "equivalent under AAPCS64: same exit, callee-visible registers and memory above sp"
    return "equivalent: same exit, registers, flags and memory for every initial state"
