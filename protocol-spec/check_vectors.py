#!/usr/bin/env python3
"""An independent check of test-vectors.json, written from PROTOCOL.md alone.

It does not use cleanroom-core: if PROTOCOL.md is precise enough, a second
implementation reproduces every vector checked here. Today it covers the
noisy-counts section (stream, uniform integers, discrete Laplace draws, 95 %
half-widths and a whole post-processed release) and the protocol constants.

    python3 protocol-spec/check_vectors.py
"""

import hashlib
import json
import math
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
VECTORS = json.loads((HERE / "test-vectors.json").read_text(encoding="utf-8"))
NOISE_DST = b"cleanroom-v2-dp-noise"
EPSILON_SCALE = 1_000_000


class Stream:
    """Concatenation of SHA-256(NOISE_DST || seed || u64be(i)), i = 0, 1, ..."""

    def __init__(self, seed: bytes):
        self.seed = seed
        self.counter = 0
        self.buf = b""

    def byte(self) -> int:
        if not self.buf:
            self.buf = hashlib.sha256(
                NOISE_DST + self.seed + self.counter.to_bytes(8, "big")
            ).digest()
            self.counter += 1
        b, self.buf = self.buf[0], self.buf[1:]
        return b

    def u64(self) -> int:
        x = 0
        for _ in range(8):
            x = (x << 8) | self.byte()
        return x

    def uniform_below(self, n: int) -> int:
        rem = (1 << 64) % n
        while True:
            x = self.u64()
            if rem == 0 or x < (1 << 64) - rem:
                return x % n

    def bernoulli(self, num: int, den: int) -> bool:
        return self.uniform_below(den) < num

    def bernoulli_exp(self, num: int, den: int) -> bool:
        if num <= den:
            k = 1
            while self.bernoulli(num, den * k):
                k += 1
            return k % 2 == 1
        for _ in range(num // den):
            if not self.bernoulli_exp(1, 1):
                return False
        return self.bernoulli_exp(num % den, den)

    def discrete_laplace(self, s: int, t: int) -> int:
        while True:
            u = self.uniform_below(t)
            if not self.bernoulli_exp(u, t):
                continue
            v = 0
            while self.bernoulli_exp(1, 1):
                v += 1
            y = (u + t * v) // s
            negative = self.bernoulli(1, 2)
            if negative and y == 0:
                continue
            return -y if negative else y


def sensitivity(k: int, p: int) -> int:
    return 2 * p + k * p + 2 * k * p * p


def ratio(epsilon_micro: int, delta: int):
    s, t = epsilon_micro, delta * EPSILON_SCALE
    g = math.gcd(s, t)
    return s // g, t // g


def half_width(s: int, t: int, level: float = 0.95) -> int:
    q = math.exp(-s / t)
    w = 0
    while 2.0 * q ** (w + 1) / (1.0 + q) > 1.0 - level:
        w += 1
    return w


def difference_half_width(s: int, t: int, level: float = 0.95) -> int:
    q = math.exp(-s / t)
    c = (1.0 - q) / (1.0 + q)

    def p(d):
        return c * c * q**d * (d + (1.0 + q * q) / (1.0 - q * q))

    inside, w = p(0), 0
    while 1.0 - inside > 1.0 - level:
        w += 1
        inside += 2.0 * p(w)
    return w


def release(exact, seed: bytes, epsilon_micro: int, delta: int):
    """Draw order and post-processing of PROTOCOL.md, section "Noisy counts"."""
    s, t = ratio(epsilon_micro, delta)
    st = Stream(seed)
    out = {"vendor": [], "partner": []}
    for side in ("vendor", "partner"):
        for total, matched in exact[side]:
            nt = max(0, total + st.discrete_laplace(s, t))
            nm = min(max(0, matched + st.discrete_laplace(s, t)), nt)
            out[side].append([nt, nm])
    cells = []
    for i, line in enumerate(exact["cells"]):
        row = []
        for j, (v, p) in enumerate(line):
            nv = min(max(0, v + st.discrete_laplace(s, t)), out["vendor"][i][1])
            np_ = min(max(0, p + st.discrete_laplace(s, t)), out["partner"][j][1])
            row.append([nv, np_])
        cells.append(row)
    out["cells"] = cells
    return out


def main() -> int:
    failures = 0

    def check(what, got, want):
        nonlocal failures
        if got != want:
            failures += 1
            print(f"FAIL {what}: got {got!r}, want {want!r}")

    check("noise_dst", VECTORS.get("noise_dst"), NOISE_DST.decode())
    noise = VECTORS["noise"]
    count = 0
    for i, c in enumerate(noise["uniform_below"]):
        st = Stream(bytes.fromhex(c["seed"]))
        n = int(c["n"])
        check(f"uniform_below[{i}]", [str(st.uniform_below(n)) for _ in c["values"]], c["values"])
        count += 1
    for i, c in enumerate(noise["discrete_laplace"]):
        delta = sensitivity(c["max_keys_per_row"], c["max_populations_per_row"])
        check(f"sensitivity[{i}]", delta, c["sensitivity"])
        s, t = ratio(c["epsilon_micro"], delta)
        check(f"ratio[{i}]", (s, t), (c["s"], c["t"]))
        st = Stream(bytes.fromhex(c["seed"]))
        check(f"draws[{i}]", [st.discrete_laplace(s, t) for _ in c["draws"]], c["draws"])
        check(f"half_width[{i}]", half_width(s, t), c["half_width_95"])
        check(f"difference_half_width[{i}]", difference_half_width(s, t), c["difference_half_width_95"])
        count += 1
    for i, c in enumerate(noise["release"]):
        got = release(c["exact"], bytes.fromhex(c["seed"]), c["epsilon_micro"], c["sensitivity"])
        check(f"release[{i}]", got, c["noisy"])
        count += 1
    print(f"{count} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
