"""Does the emulator agree? Compare our predicted final states with unicorn's run of both snippets.

A counterexample is `confirmed` when unicorn, started from its inputs, takes the exits we predicted and
ends with every register, the flags and every stored byte exactly as our semantics said, for both
snippets. Anything else is a bug in our semantics (or in the emulator) and is reported, never hidden.
"""

from __future__ import annotations

from .assemble import Program
from .counterexample import Prediction, format_nzcv
from .result import Exit
from .semantics.state import GPR_NAMES, VREG_NAMES


def machine_state(registers: dict[str, int], nzcv: int, memory: dict[int, int]):
    from .replay import MachineState

    return MachineState(
        x=[registers[n] for n in GPR_NAMES],
        sp=registers["sp"],
        nzcv=nzcv,
        v=[registers[n] for n in VREG_NAMES],
        memory=dict(memory),
    )


def _exit_of_outcome(outcome) -> Exit | None:
    if outcome.exit_kind == "fallthrough":
        return Exit(kind="fallthrough")
    if outcome.exit_kind == "label":
        return Exit(kind="label", label=outcome.exit_label)
    if outcome.exit_kind == "indirect":
        return Exit(kind="indirect", target=hex(outcome.exit_target))
    return None


def mismatches(name: str, prediction: Prediction, outcome) -> list[str]:
    """Where unicorn's run of one snippet disagrees with our prediction (empty: full agreement)."""
    if outcome.exit_kind == "error":
        return [f"{name}: emulator error: {outcome.error}"]
    found = []
    replayed_exit = _exit_of_outcome(outcome)
    if replayed_exit != prediction.exit:
        found.append(f"{name} exit: predicted {prediction.exit.describe()}, unicorn {replayed_exit.describe()}")
    final = outcome.state
    replayed = dict(zip(GPR_NAMES, final.x)) | {"sp": final.sp} | dict(zip(VREG_NAMES, final.v))
    for register, predicted in prediction.registers.items():
        if replayed[register] != predicted:
            found.append(f"{name} {register}: predicted {predicted:#x}, unicorn {replayed[register]:#x}")
    replayed_calls = outcome.calls
    for number in range(max(len(prediction.calls), len(replayed_calls))):
        if number >= len(prediction.calls) or number >= len(replayed_calls):
            found.append(f"{name}: predicted {len(prediction.calls)} calls, unicorn made {len(replayed_calls)}")
            break
        predicted, (callee, arguments) = prediction.calls[number], replayed_calls[number]
        if callee != predicted.callee:
            found.append(f"{name} call {number + 1}: predicted callee {predicted.callee:#x}, unicorn {callee:#x}")
        for register, value in predicted.arguments.items():
            if arguments[register] != value:
                found.append(f"{name} call {number + 1} {register}: predicted {value:#x}, unicorn {arguments[register]:#x}")
    if final.nzcv != prediction.nzcv:
        found.append(f"{name} nzcv: predicted {format_nzcv(prediction.nzcv)}, unicorn {format_nzcv(final.nzcv)}")
    for address in sorted(set(prediction.stores) | set(outcome.writes)):
        predicted = prediction.stores.get(address)
        actual = final.memory.get(address)
        if predicted != actual:
            show = lambda v: "not written" if v is None else f"{v:#04x}"  # noqa: E731
            found.append(f"{name} mem[{address:#x}]: predicted {show(predicted)}, unicorn {show(actual)}")
    return found


def call_stubs(prediction: Prediction) -> list:
    """What each predicted call's callee does in the replay."""
    from .replay import CallStub

    return [CallStub(call.registers_after, call.nzcv_after, call.memory_writes) for call in prediction.calls]


def linked_for_replay(program: Program, addresses: dict[str, int]) -> tuple[bytes, dict[int, tuple[str, str]], bytes]:
    """(code, branches, literal pool) for the replay: every symbol reference filled in for the replay's
    code address (a pool word of `ldr x0, =sym` holds sym's address), and the branches to external
    labels (which replay links to its own stubs). ValueError if a symbol is out of reach."""
    from .lift import BRANCH_RELOCATIONS
    from .replay import CODE_BASE
    from .symbols import link, references

    symbol_references = references(program.relocations, BRANCH_RELOCATIONS)  # data references and calls
    image = program.code + program.pool
    if symbol_references:
        image = link(image, symbol_references, addresses, CODE_BASE)
    branches = {offset: (r.type, r.symbol) for offset, r in program.relocations.items() if r.type in BRANCH_RELOCATIONS}
    return image[:len(program.code)], branches, image[len(program.code):]


def replay_pair(programs: dict[str, Program], predictions: dict[str, Prediction], registers: dict[str, int],
                nzcv: int, memory: dict[int, int], addresses: dict[str, int], timeout: float) -> tuple[bool, str | None]:
    """Run both snippets on unicorn from the counterexample state: (confirmed, note). `addresses`:
    where each referenced symbol (and GOT entry) is."""
    from .replay import run_isolated

    problems = []
    outcomes = {}
    for name, program in programs.items():
        code, branches, pool = linked_for_replay(program, addresses)
        outcomes[name] = run_isolated(code, machine_state(registers, nzcv, memory), branches, timeout=timeout,
                                      pool=pool, call_stubs=call_stubs(predictions[name]))
        problems += mismatches(name, predictions[name], outcomes[name])
    if problems:
        return False, "replay disagrees with the semantics: " + "; ".join(problems[:8])
    return True, None
