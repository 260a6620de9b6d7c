"""Latency of POST /v1/check on a warm server, for realistic ~15-line pairs.

    python bench/bench_api.py                       # starts `a64eq serve` on a free loopback port
    python bench/bench_api.py --url http://host:8000 --requests 500 --clients 2

The pairs are compiler-like basic blocks (loads, arithmetic, a compare and select, stores) with the kind of
rewrites models produce: correct strength reductions and reorderings, subtle mistakes (a lost write, a
64-bit addition done in 32 bits), and typos. Immediates vary per request so nothing is repeated.
Prints p50/p90/p99 per verdict and overall, and checks that every verdict is the expected one.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from api.testing import LocalServer

SOURCE = """\
ldr x8, [x0]
ldr x9, [x0, #8]
mov x10, #{k}
mul x8, x8, x10
add x8, x8, x9
str x8, [x1]
ldr w11, [x2, #{off}]
and w11, w11, #0xff
mov w13, #5
mul w12, w11, w13
str w12, [x1, #16]
cmp x8, x9
csel x0, x8, x9, gt
add x3, x3, #{imm}
sub x4, x4, x3"""

# Each rewrite: the source's lines -> the candidate's lines, and the verdict it must get.
def _reordered(lines, k):  # independent instructions moved: the constant first, the counter updates early
    constant, counters, rest = lines[8], lines[13:], lines[:8] + lines[9:13]
    return [constant, *rest[:3], *counters, *rest[3:]]


def _mul_by_five(lines, k):
    lines[9] = "add w12, w11, w11, lsl #2"
    return lines


def _narrowed(lines, k):  # a 64-bit add done in 32 bits: the stored sum loses its high half
    lines[4] = "add w8, w8, w9"
    return lines


def _lost_constant(lines, k):  # the multiply replaced but the constant register never written
    lines[2] = "nop"
    lines[3] = f"add x8, x8, x8, lsl #{max(1, k.bit_length() - 1)}"
    return lines


def _typo(lines, k):
    lines[6] = lines[6].replace("ldr", "ldrr")
    return lines


REWRITES = [("equivalent", _mul_by_five), ("equivalent", _reordered), ("not_equivalent", _narrowed),
            ("not_equivalent", _lost_constant), ("invalid", _typo)]
WEIGHTS = [3, 3, 2, 1, 1]


def make_pair(rng: random.Random) -> tuple[str, str, str]:
    k = rng.choice([3, 5, 6, 7, 9, 10, 12])
    values = {"k": k, "off": 4 * rng.randrange(0, 64), "imm": rng.randrange(1, 4096)}
    source = SOURCE.format(**values)
    expected, rewrite = rng.choices(REWRITES, WEIGHTS)[0]
    candidate = "\n".join(rewrite(source.splitlines(), k))
    return source, candidate, expected


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(url: str, requests: int, clients: int, warm_up: int, seed: int) -> int:
    rng = random.Random(seed)
    pairs = [make_pair(rng) for _ in range(warm_up + requests)]
    http = httpx.Client(base_url=url, timeout=120)

    def one(pair):
        source, candidate, expected = pair
        started = time.perf_counter()
        response = http.post("/v1/check", json={"source": source, "candidate": candidate})
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        body = response.json()
        return expected, body["verdict"], elapsed * 1000, body["timings_ms"].get("total", 0.0)

    for pair in pairs[:warm_up]:
        one(pair)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as executor:
        measured = list(executor.map(one, pairs[warm_up:]))
    wall = time.perf_counter() - started

    wrong = [(e, v) for e, v, _, _ in measured if e != v]
    print(f"{requests} requests, {clients} client(s), {wall:.1f} s, {requests / wall:.1f} checks/s")
    print(f"{'verdict':16} {'n':>5} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'in worker p50':>14} "
          f"{'overhead p50':>13}")
    groups = {"all": measured} | {v: [m for m in measured if m[1] == v] for v in sorted({m[1] for m in measured})}
    for name, rows in groups.items():
        latencies, inside = [r[2] for r in rows], [r[3] for r in rows]
        overhead = statistics.median(r[2] - r[3] for r in rows)  # HTTP, queue, pipe: all but check() itself
        print(f"{name:16} {len(rows):>5} {percentile(latencies, .5):>8.1f} {percentile(latencies, .9):>8.1f} "
              f"{percentile(latencies, .99):>8.1f} {statistics.median(inside):>14.1f} {overhead:>13.1f}")
    if wrong:
        print(f"UNEXPECTED VERDICTS: {len(wrong)}, e.g. {wrong[:3]}", file=sys.stderr)
    return 1 if wrong else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (default: start one on a free loopback port)")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=1, help="concurrent clients (1: pure latency)")
    parser.add_argument("--warm-up", type=int, default=20, help="requests sent before measuring")
    parser.add_argument("--workers", type=int, default=2, help="workers of the server started here")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.url:
        return run(args.url, args.requests, args.clients, args.warm_up, args.seed)
    with LocalServer("--workers", str(args.workers), "--job-store", ":memory:") as server:
        return run(server.url, args.requests, args.clients, args.warm_up, args.seed)


if __name__ == "__main__":
    sys.exit(main())
