"""The labelled corpus and the seed rules, read without a database (shared by the tests and
``bench/negative_list.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from addons.negative_list import checker

ROOT = Path(__file__).resolve().parents[3]
SEED = ROOT / "addons" / "negative_list" / "data" / "nl_rule.yaml"
CORPUS = Path(__file__).resolve().parent / "data" / "corpus.yaml"


def seed_specs() -> list[checker.RuleSpec]:
    records = yaml.safe_load(SEED.read_text(encoding="utf-8"))["records"]
    return [checker.RuleSpec(
        code=r["code"], name=r["name"], keywords=tuple(checker.lines_of(r.get("keywords"))),
        patterns=tuple(checker.lines_of(r.get("patterns"))),
        exceptions=tuple(checker.lines_of(r.get("exceptions"))),
        applies_to=frozenset(k for k in (r.get("applies_to") or "").split(",") if k))
        for r in records]


def corpus() -> list[dict[str, Any]]:
    return yaml.safe_load(CORPUS.read_text(encoding="utf-8"))


def evaluate(specs: list[checker.RuleSpec]) -> dict[str, Any]:
    """Clause level: a barrier found by its expected rule is a true positive; any finding on
    a lawful clause (or only another rule's on a barrier) a false positive."""
    tp = fp = fn = 0
    misses, false_alarms = [], []
    for c in corpus():
        codes = {h.rule.code for h in checker.check_text(f"{c['section']}\n{c['text']}", specs)}
        want = set(c["expect"])
        if want:
            if want & codes:
                tp += 1
            else:
                fn += 1
                misses.append((c["text"], sorted(codes)))
                if codes:
                    fp += 1
        elif codes:
            fp += 1
            false_alarms.append((c["text"], sorted(codes)))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {"n": len(corpus()), "tp": tp, "fp": fp, "fn": fn, "precision": precision,
            "recall": recall, "misses": misses, "false_alarms": false_alarms}
