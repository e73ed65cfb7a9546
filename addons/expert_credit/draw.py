"""The verifiable draw (抽取算法), pure Python: no database, no Flask, no floats.

Algorithm ``ec-draw-v1`` (documented in docs/expert_credit.md, "The draw function"):

* input: the 32-byte ``seed`` fixed when the request was created, the draw's ``seq`` in the
  request's chain (1 for the first draw, 2, 3, ... for further draws), and for each request
  line ``line`` (1, 2, ...) the **eligible pool**: ``(code, weight)`` pairs (``code`` = the
  expert's registration number 专家编号, ASCII, e.g. ``ZJ0000123``) with integer weights,
  sorted by code (byte order), and the number ``k`` to pick; weight 0 never drawn;
* random stream: block ``c`` (c = 0, 1, 2, ...) of a line is
  ``HMAC-SHA256(key=seed, msg="ec-draw-v1|<seq>|<line>|<c>")`` read as a 256-bit big-endian
  integer ``x``;
* each pick: ``W`` = sum of the weights still in the pool; blocks with
  ``x >= 2**256 - (2**256 mod W)`` are skipped (rejection: no modulo bias); ``r = x mod W``;
  walking the remaining pool in order, the expert whose cumulative weight first exceeds
  ``r`` is picked and leaves the pool; repeat until ``k`` picks or the pool is empty;
* the pool text that is hashed is one line per entry ``"<line>|<code>|<weight>"``
  (lines in request-line order, entries by code), joined by ``"\\n"``, UTF-8;
* lines are drawn in order; an expert picked on an earlier line is taken out of the later
  lines' pools before they are drawn (the stored pool is the line's eligible pool);
  ``pool_hash = sha256(pool text)``; the published ``seed_hash = sha256(seed)``.

Weighted sampling without replacement, exact integer arithmetic: the same seed and pool
give the same result on every machine. Changing the seed changes every block; changing
the pool (an expert more or less, another weight) changes the cumulative positions, so
the result generally changes from the first pick at which the walk crosses the change.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from typing import TypeVar

Key = TypeVar("Key", str, int)

ALGORITHM = "ec-draw-v1"
_SPACE = 1 << 256


def seed_hash(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()


def block(seed: bytes, seq: int, line: int, counter: int) -> int:
    msg = f"{ALGORITHM}|{seq}|{line}|{counter}".encode()
    return int.from_bytes(hmac.new(seed, msg, hashlib.sha256).digest(), "big")


def pick(seed: bytes, seq: int, line: int, pool: Sequence[tuple[Key, int]], k: int) -> list[Key]:
    """Pick up to ``k`` keys from ``pool`` (``(key, weight)``, sorted by key, no duplicates)."""
    if len(seed) != 32:
        raise ValueError("seed must be 32 bytes")
    keys = [e for e, _ in pool]
    if keys != sorted(keys) or len(set(keys)) != len(keys):
        raise ValueError("pool must be sorted by key without duplicates")
    remaining = [(e, int(w)) for e, w in pool if int(w) > 0]
    chosen: list[Key] = []
    counter = 0
    while len(chosen) < k and remaining:
        total = sum(w for _, w in remaining)
        limit = _SPACE - (_SPACE % total)
        while True:
            x = block(seed, seq, line, counter)
            counter += 1
            if x < limit:
                break
        r = x % total
        acc = 0
        for i, (expert_id, w) in enumerate(remaining):
            acc += w
            if r < acc:
                chosen.append(expert_id)
                del remaining[i]
                break
    return chosen


def pool_text(lines: Iterable[tuple[int, Sequence[tuple[Key, int]]]]) -> str:
    return "\n".join(f"{line}|{e}|{w}" for line, pool in lines for e, w in pool)


def parse_pool(text: str) -> dict[int, list[tuple[str, int]]]:
    out: dict[int, list[tuple[str, int]]] = {}
    for row in (text or "").splitlines():
        if not row.strip():
            continue
        line, e, w = row.split("|")
        out.setdefault(int(line), []).append((e, int(w)))
    return out


def parse_result(text: str) -> list[tuple[int, str]]:
    return [(int(r.split("|")[0]), r.split("|")[1]) for r in (text or "").splitlines() if r]


def pool_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run(seed: bytes, seq: int, lines: Sequence[tuple[int, Sequence[tuple[Key, int]], int]]
        ) -> list[tuple[int, Key]]:
    """Draw every line in order: ``lines`` = ``(line, pool, k)``; an expert picked on an
    earlier line is removed from the later lines' pools before they are drawn. Returns
    ``(line, key)`` in pick order."""
    taken: set[Key] = set()
    out: list[tuple[int, Key]] = []
    for line, pool, k in lines:
        usable = [(e, w) for e, w in pool if e not in taken]
        for e in pick(seed, seq, line, usable, k):
            taken.add(e)
            out.append((line, e))
    return out
