"""Replay on real unicorn, with snippets assembled by the real GNU assembler."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import tempfile
import threading
import time

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection

from verifier.replay import CALLEE_BASE, CODE_BASE, CallStub, MachineState, _worker_pid, run, run_isolated

MASK64 = (1 << 64) - 1
RELOCATION_NAMES = {279: "R_AARCH64_TSTBR14", 280: "R_AARCH64_CONDBR19", 282: "R_AARCH64_JUMP26", 283: "R_AARCH64_CALL26"}


def assemble(source: str) -> tuple[bytes, dict[int, tuple[str, str]]]:
    """Machine code of `source` and its branches to undefined labels, as the assembler stage reports them."""
    with tempfile.TemporaryDirectory() as directory:
        with open(f"{directory}/snippet.s", "w") as handle:
            handle.write(source + "\n")
        command = ["aarch64-linux-gnu-as", "-march=armv8.5-a+lse", "-o", f"{directory}/snippet.o", f"{directory}/snippet.s"]
        subprocess.run(command, check=True)
        with open(f"{directory}/snippet.o", "rb") as handle:
            elf = ELFFile(io.BytesIO(handle.read()))
    code = elf.get_section_by_name(".text").data()
    branches = {}
    relocations = elf.get_section_by_name(".rela.text")
    if isinstance(relocations, RelocationSection):
        symbols = elf.get_section(relocations["sh_link"])
        for relocation in relocations.iter_relocations():
            kind = relocation.entry["r_info_type"]
            type_name = RELOCATION_NAMES.get(kind, str(kind))
            branches[relocation["r_offset"]] = (type_name, symbols.get_symbol(relocation["r_info_sym"]).name)
    return code, branches


def state(x=None, *, sp=0x10_0000, nzcv=0, v=None, memory=None) -> MachineState:
    """A machine state from sparse register maps ({index: value}); everything unlisted is 0."""
    x, v = x or {}, v or {}
    return MachineState([x.get(i, 0) for i in range(31)], sp, nzcv, [v.get(i, 0) for i in range(32)], memory or {})


def replay(source: str, initial: MachineState, **options):
    code, branches = assemble(source)
    return run(code, initial, branches, **options)


def test_add_gives_the_sum():
    outcome = replay("add x0, x1, x2", state({1: 0xFFFF_FFFF_FFFF_FFFF, 2: 3}))
    assert outcome.exit_kind == "fallthrough"
    assert outcome.state.x[0] == 2
    assert outcome.state.x[1:3] == [0xFFFF_FFFF_FFFF_FFFF, 3]
    assert outcome.reads == outcome.writes == set() and outcome.state.memory == {}


def test_w_register_write_zeroes_the_upper_half():
    outcome = replay("add w0, w1, w2", state({0: MASK64, 1: 0xAAAA_AAAA_FFFF_FFFF, 2: 2}))
    assert outcome.state.x[0] == 1


def test_x29_and_x30_round_trip():
    """unicorn numbers x29/x30 apart from x0..x28; make sure both directions use the right ones."""
    outcome = replay("mov x0, x29\nmov x28, x30", state({29: 0x29, 30: 0x30}))
    assert outcome.state.x[0] == 0x29 and outcome.state.x[28] == 0x30


@pytest.mark.parametrize(
    "a, b, nzcv",
    [
        (1, 2, 0b0000),
        (0, 0, 0b0100),  # Z
        (MASK64, 1, 0b0110),  # result 0 with carry out: Z C
        (0x7FFF_FFFF_FFFF_FFFF, 1, 0b1001),  # signed overflow to negative: N V
        (1 << 63, 1 << 63, 0b0111),  # Z C V
        (1 << 63, 1, 0b1000),  # N
    ],
)
def test_adds_flags_read_back_as_nzcv(a, b, nzcv):
    outcome = replay("adds x0, x1, x2", state({1: a, 2: b}, nzcv=0b1111 ^ nzcv))
    assert outcome.state.x[0] == (a + b) & MASK64
    assert outcome.state.nzcv == nzcv


@pytest.mark.parametrize("nzcv", range(16))
def test_initial_nzcv_is_honoured(nzcv):
    outcome = replay("cset x0, mi\ncset x1, eq\ncset x2, cs\ncset x3, vs", state(nzcv=nzcv))
    assert outcome.state.x[:4] == [nzcv >> 3 & 1, nzcv >> 2 & 1, nzcv >> 1 & 1, nzcv & 1]
    assert outcome.state.nzcv == nzcv


def test_store_then_load_straddling_a_page_boundary():
    address = 0x5_0FFD  # the 8 bytes cover 0x50ffd..0x51004, across two pages that are not mapped yet
    outcome = replay("str x1, [x0]\nldr x2, [x0]", state({0: address, 1: 0x1122_3344_5566_7788}))
    assert outcome.exit_kind == "fallthrough"
    assert outcome.state.x[2] == 0x1122_3344_5566_7788
    expected = set(range(address, address + 8))
    assert outcome.writes == expected and outcome.reads == expected
    assert outcome.state.memory == {address + i: 0x88 - 0x11 * i for i in range(8)}


def test_initial_memory_is_read_and_other_bytes_are_zero():
    address = 0xDEAD_BEEF_0000_1000
    memory = {address: 0xEF, address + 1: 0xBE, address + 3: 0x7F}
    outcome = replay("ldr w1, [x0]\nldr x2, [x0, #-8]", state({0: address}, memory=memory))
    assert outcome.state.x[1] == 0x7F00_BEEF
    assert outcome.state.x[2] == 0
    assert outcome.reads == set(range(address, address + 4)) | set(range(address - 8, address))
    assert outcome.writes == set() and outcome.state.memory == {}


def test_final_memory_holds_only_written_bytes():
    outcome = replay("strb w1, [x0, #1]", state({0: 0x9000, 1: 0x1AB}, memory={0x9000: 5, 0x9001: 6}))
    assert outcome.state.memory == {0x9001: 0xAB}


def test_q_register_round_trip():
    value = 0x0123_4567_89AB_CDEF_FEDC_BA98_7654_3210
    outcome = replay("mov v0.16b, v1.16b\nfmov x0, d1\nmov v2.d[0], xzr", state(v={1: value, 2: value}))
    assert outcome.state.v[0] == value
    assert outcome.state.x[0] == value & MASK64
    assert outcome.state.v[2] == value >> 64 << 64


@pytest.mark.parametrize(
    "branch, taken_state, not_taken_state",
    [
        ("b.eq ext", state(nzcv=0b0100), state(nzcv=0b1011)),
        ("cbz x0, ext", state({0: 0}), state({0: 1 << 40})),
        ("cbnz w0, ext", state({0: 1}), state({0: 1 << 40})),
        ("tbz x0, #37, ext", state({0: 0}), state({0: 1 << 37})),
        ("tbnz w0, #3, ext", state({0: 8}), state({0: 0})),
    ],
)
def test_conditional_branch_to_external_label(branch, taken_state, not_taken_state):
    source = f"mov x9, #1\n{branch}\nmov x9, #2"
    taken = replay(source, taken_state)
    assert (taken.exit_kind, taken.exit_label) == ("label", "ext")
    assert taken.state.x[9] == 1
    not_taken = replay(source, not_taken_state)
    assert (not_taken.exit_kind, not_taken.exit_label) == ("fallthrough", None)
    assert not_taken.state.x[9] == 2


def test_each_external_label_gets_its_own_exit():
    source = "cbz x0, first\ncbz x1, second\nb third"
    assert replay(source, state({0: 0})).exit_label == "first"
    assert replay(source, state({0: 1, 1: 0})).exit_label == "second"
    assert replay(source, state({0: 1, 1: 1})).exit_label == "third"


def test_bl_to_external_label_sets_the_return_address():
    outcome = replay("nop\nbl callee", state())
    assert (outcome.exit_kind, outcome.exit_label) == ("label", "callee")
    assert outcome.state.x[30] == CODE_BASE + 8


def test_internal_branches_stay_inside():
    outcome = replay("mov x0, #5\n1: subs x0, x0, #1\nadd x1, x1, #2\nb.ne 1b", state())
    assert outcome.exit_kind == "fallthrough"
    assert outcome.state.x[:2] == [0, 10]


def test_ret_exits_indirect_to_an_unmapped_target():
    outcome = replay("mov x0, #7\nret", state({30: 0x1234}))
    assert (outcome.exit_kind, outcome.exit_target) == ("indirect", 0x1234)
    assert outcome.state.x[0] == 7


def test_br_to_a_data_page_exits_indirect():
    outcome = replay("ldr x1, [x0]\nbr x0", state({0: 0x7000}))
    assert (outcome.exit_kind, outcome.exit_target) == ("indirect", 0x7000)


def test_blr_is_a_call_that_returns_through_its_stub():
    """A call lands in the callee region, where the next stub sets the registers it clobbers, records
    what the call passed, and returns to the instruction after the call."""
    stub = CallStub({"x0": 0x99, "x30": 0x1234, "v0": 1 << 100}, nzcv_after=0b0110)
    outcome = replay("mov x2, #5\nblr x1\nadd x3, x0, #1", state({1: CALLEE_BASE + 0x40}), call_stubs=[stub])
    assert outcome.exit_kind == "fallthrough", outcome.error
    (callee, arguments), = outcome.calls
    assert callee == CALLEE_BASE + 0x40 and arguments["x2"] == 5 and arguments["x1"] == CALLEE_BASE + 0x40
    assert outcome.state.x[0] == 0x99 and outcome.state.x[3] == 0x9A and outcome.state.x[30] == 0x1234
    assert outcome.state.v[0] == 1 << 100 and outcome.state.nzcv == 0b0110


def test_a_call_no_stub_was_given_for_is_an_error():
    outcome = replay("blr x1", state({1: CALLEE_BASE}))
    assert outcome.exit_kind == "error" and "not predicted" in outcome.error


def test_br_to_the_end_of_the_snippet_is_an_indirect_exit():
    outcome = replay("adr x0, 1f\nbr x0\n1:", state())
    assert (outcome.exit_kind, outcome.exit_target) == ("indirect", CODE_BASE + 8)


def test_load_of_own_literal_pool():
    outcome = replay("ldr x0, =0x1122334455667788\nb 1f\n.ltorg\n1:", state())
    assert outcome.exit_kind == "fallthrough" and outcome.state.x[0] == 0x1122_3344_5566_7788


@pytest.mark.parametrize("address", [(1 << 64) - 0x1000, (1 << 64) - 8, (1 << 64) - 0x1004])
def test_top_page_access_is_an_error(address):
    outcome = replay("str x1, [x0]", state({0: address, 1: 1}))
    assert outcome.exit_kind == "error"
    assert "top 4 KiB page" in outcome.error


def test_wrapping_access_is_an_error():
    outcome = replay("ldr x1, [x0]", state({0: (1 << 64) - 4}))
    assert outcome.exit_kind == "error" and "top 4 KiB page" in outcome.error


def test_access_to_the_code_region_is_an_error():
    outcome = replay("str x1, [x0]", state({0: CODE_BASE}))
    assert outcome.exit_kind == "error" and "reserved code region" in outcome.error
    outcome = replay("ldr x1, [x0]", state({0: CODE_BASE + 0x2000}))
    assert outcome.exit_kind == "error" and "reserved code region" in outcome.error
    outcome = replay("nop", state(memory={CODE_BASE + 0x100: 1}))
    assert outcome.exit_kind == "error" and "initial memory" in outcome.error


def test_infinite_loop_hits_the_instruction_limit():
    outcome = replay("1: b 1b", state(), max_instructions=500)
    assert outcome.exit_kind == "error" and "instruction limit" in outcome.error


@pytest.mark.parametrize("instruction", ["svc #0", "brk #1", "udf #2", "hvc #0"])
def test_exception_is_an_error(instruction):
    outcome = replay(f"mov x0, #1\n{instruction}", state())
    assert outcome.exit_kind == "error" and "UC_ERR_EXCEPTION" in outcome.error


def test_unknown_relocation_type_is_refused():
    with pytest.raises(ValueError, match="R_AARCH64_ADR_PREL_PG_HI21"):
        run(bytes(4), state(), {0: ("R_AARCH64_ADR_PREL_PG_HI21", "sym")})


def test_empty_code_falls_through():
    outcome = run(b"", state({3: 3}))
    assert outcome.exit_kind == "fallthrough" and outcome.state.x[3] == 3


def test_isolated_run_matches_and_is_fast_once_started():
    code, branches = assemble("ldr x2, [x0]\nadds x3, x2, x1\nstr x3, [x0, #8]\nb.vs out")
    initial = state({0: 0x4000, 1: 1}, memory={0x4007: 0x7F} | {0x4000 + i: 0xFF for i in range(7)})
    direct = run(code, initial, branches)
    assert (direct.exit_kind, direct.exit_label) == ("label", "out")
    assert run_isolated(code, initial, branches) == direct
    started = time.perf_counter()
    assert run_isolated(code, initial, branches) == direct
    assert time.perf_counter() - started < 0.05


def test_isolated_run_reraises_value_errors():
    with pytest.raises(ValueError, match="R_AARCH64_LD_PREL_LO19"):
        run_isolated(bytes(4), state(), {0: ("R_AARCH64_LD_PREL_LO19", "sym")})


def test_killed_worker_is_replaced():
    code, _ = assemble("add x0, x1, x2")
    initial = state({1: 2, 2: 3})
    assert run_isolated(code, initial).state.x[0] == 5
    pid = _worker_pid()
    os.kill(pid, signal.SIGKILL)
    assert run_isolated(code, initial).state.x[0] == 5
    assert _worker_pid() != pid


def test_hung_worker_times_out_and_is_replaced():
    code, _ = assemble("1: b 1b")
    outcome = run_isolated(code, state(), max_instructions=10**12, timeout=0.5)
    assert outcome.exit_kind == "error" and "did not finish" in outcome.error
    assert run_isolated(*assemble("mov x0, #3")[:1], state()).state.x[0] == 3


def test_worker_that_keeps_dying_is_an_error():
    """Kill the worker twice during one request: the caller gets an error outcome, not an exception."""
    code, _ = assemble("1: b 1b")
    run_isolated(code, state(), max_instructions=10)  # a worker is running
    result = {}
    caller = threading.Thread(
        target=lambda: result.update(outcome=run_isolated(code, state(), max_instructions=10**12, timeout=30))
    )
    caller.start()
    killed = set()
    deadline = time.monotonic() + 20
    while len(killed) < 2 and time.monotonic() < deadline:
        pid = _worker_pid()
        if pid is not None and pid not in killed:
            time.sleep(0.2)  # let the request reach it
            os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        time.sleep(0.01)
    caller.join(30)
    assert result["outcome"].exit_kind == "error"
    assert "died (SIGKILL)" in result["outcome"].error
