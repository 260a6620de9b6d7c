"""How long does one check of a 15-instruction block pair take? Prints figures; asserts nothing.

    .venv/bin/python bench/bench_check.py [--repeat N]

Cold: a fresh `a64eq check` process per pair (what a person at the terminal sees, imports included).
Warm: `verifier.check` in one process (what the service and the grader pay per pair).
FP: the solve time of floating-point queries, which run under their own budget (`fp_timeout`), and how
promptly that budget stops a hard one.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# A compiler-like block (loads, arithmetic, compare + select, stores) and rewrites of it.
SOURCE = """\
ldr w8, [x0, #4]
ldr w9, [x0, #8]
mov w10, #3
mul w8, w8, w10
add w9, w9, w8
cmp w9, #100
csel w9, w9, wzr, gt
lsl w11, w9, #2
sub w11, w11, w9
str w11, [x0, #12]
ldrb w12, [x1]
and w12, w12, #0xf
orr w12, w12, #0x10
strb w12, [x1, #1]
add x0, x0, #16
"""

PAIRS = {
    "equivalent (strength reduction)": SOURCE.replace("mov w10, #3\nmul w8, w8, w10\n", "add w8, w8, w8, lsl #1\nmov w10, #3\n"),
    "equivalent (shift-add fused)": SOURCE.replace("lsl w11, w9, #2\nsub w11, w11, w9\n", "add w11, w9, w9, lsl #1\nnop\n"),
    "not equivalent (wrong condition)": SOURCE.replace("csel w9, w9, wzr, gt", "csel w9, w9, wzr, ge"),
    "not equivalent (store reordered)": SOURCE.replace("str w11, [x0, #12]\nldrb w12, [x1]\n", "ldrb w12, [x1]\nstr w11, [x0, #12]\n"),
}


def warm(repeat: int) -> None:
    from verifier import check

    check(SOURCE, SOURCE)  # imports, first assembler call, replay worker start
    for name, candidate in PAIRS.items():
        times, verdict = [], None
        for _ in range(repeat):
            start = time.perf_counter()
            result = check(SOURCE, candidate)
            times.append((time.perf_counter() - start) * 1000)
            verdict = result.verdict.value
        print(f"warm  {name:36s} {verdict:15s} median {statistics.median(times):7.1f} ms  max {max(times):7.1f} ms")


# x * 0.5 against x / 2.0 (true), and x / y * y against x (false, slow to decide: 2-14 s measured).
FP_PAIRS = {
    "fp equivalent (x*0.5 = x/2.0)": ("fmov d3, #0.5\nfmul d0, d1, d3", "fmov d3, #2.0\nfdiv d0, d1, d3", {}),
    "fp hard, fp_timeout 0.05 s": ("fdiv d0, d1, d2\nfmul d0, d0, d2", "fmov d0, d1", {"fp_timeout": 0.05}),
    "fp x/y*y vs x (probe finds it)": ("fdiv d0, d1, d2\nfmul d0, d0, d2", "fmov d0, d1", {}),
    "fp fmadd vs fmul+fadd (double)": ("fmadd d0, d1, d2, d3", "fmul d4, d1, d2\nfadd d0, d3, d4", {}),
    "fp fmadd = fneg+fmadd (equivalent)": ("fmsub d0, d1, d2, d3", "fneg d4, d1\nfmadd d0, d4, d2, d3", {}),
}


def fp(repeat: int) -> None:
    from verifier import check

    for name, (source, candidate, options) in FP_PAIRS.items():
        solve, total, verdict = [], [], None
        for _ in range(repeat):
            result = check(source, candidate, live_out=["d0"], **options)
            solve.append(result.timings_ms["solve"])
            total.append(result.timings_ms["total"])
            verdict = result.verdict.value
        print(f"fp    {name:36s} {verdict:15s} solve median {statistics.median(solve):7.1f} ms  max {max(solve):7.1f} ms"
              f"  total median {statistics.median(total):7.1f} ms")


def cold(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        source = Path(directory, "source.s")
        source.write_text(SOURCE)
        for name, candidate_text in PAIRS.items():
            candidate = Path(directory, "candidate.s")
            candidate.write_text(candidate_text)
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "verifier.cli", "check", str(source), str(candidate)],
                               capture_output=True, check=False)
                times.append((time.perf_counter() - start) * 1000)
            print(f"cold  {name:36s} median {statistics.median(times):7.1f} ms  max {max(times):7.1f} ms (new process)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"15-instruction pairs, {args.repeat} runs each")
    warm(args.repeat)
    fp(max(1, args.repeat // 2))
    cold(max(1, args.repeat // 2))
