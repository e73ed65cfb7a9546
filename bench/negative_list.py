"""Benchmark: the negative-list checker on a 200-page tender document against 200 rules.

Workload: a generated tender document of 200 pages (about 1,500 characters a page in
chapters: invitation, qualification, requirements, scoring, contract, declaration forms),
with the barriers and look-alikes of the test corpus scattered through it; 200 rules = the
21 seed rules plus 179 generated ones in the same shape (keywords, patterns with
comparators, exceptions), so most rules find nothing, as in a real list.

Timed, ``--repeat`` times (median printed):

* **platform**: :func:`addons.negative_list.checker.check` on the prepared document (rules
  compiled once into one alternation each, one pass per rule over the whole text, sections,
  template forms, exceptions and negation) plus the preparation (paragraphs and sections);
* **baseline**: every pattern of every rule matched against every paragraph separately, no
  sections, exceptions or negation (what a straightforward loop does).

Aim: the platform under 1 s for the whole document; printed with OK/MISSED, never asserted.

    .venv/bin/python bench/negative_list.py [--pages 200] [--rules 200] [--repeat 3]
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from addons.negative_list import checker
from bench import _common as common
from tests.addons.negative_list.nl_corpus import corpus, seed_specs

AIM_SECONDS = 1.0
FILLER = ("供应商应按照采购需求提供合格的货物及服务，保证产品质量符合国家标准和行业标准，"
          "并在合同约定的期限内完成交付、安装、调试和培训工作；验收不合格的，应当在规定时间内更换。")
CHAPTERS = ("第一章 投标邀请", "第二章 供应商资格要求", "第三章 采购需求", "第四章 评分标准",
            "第五章 合同条款", "第六章 投标文件格式")


def document(pages: int, seed: int = 7) -> str:
    rnd = random.Random(seed)
    clauses = [c["text"] for c in corpus()]
    out: list[str] = []
    for p in range(pages):
        lines = []
        if p % (pages // len(CHAPTERS) or 1) == 0:
            lines.append(CHAPTERS[min(p * len(CHAPTERS) // pages, len(CHAPTERS) - 1)])
        size = 0
        while size < 1500:
            line = rnd.choice(clauses) if rnd.random() < 0.15 else FILLER
            lines.append(line)
            size += len(line)
        out.append("\n".join(lines))
    return "\f".join(out)


def rules(n: int, seed: int = 11) -> list[checker.RuleSpec]:
    base = seed_specs()
    rnd = random.Random(seed)
    subjects = ["固定资产", "办公面积", "研发投入", "注册商标数", "软件著作权", "仓储面积", "车辆数量",
                "技术人员", "省级工程中心", "质量奖", "示范基地", "专精特新", "驰名商标", "进出口额"]
    comps = ["不低于", "不少于", "达到", "在.{0,6}以上"]
    out = list(base)
    i = 0
    while len(out) < n:
        subj = rnd.choice(subjects) + str(i)
        out.append(checker.RuleSpec(
            code=f"GEN-{i:03d}", name=f"生成规则 {i}", keywords=(f"{subj}证明",),
            patterns=(f"{subj}[^。；，,]{{0,6}}({'|'.join(comps)})",),
            exceptions=("中标后|成交后",)))
        i += 1
    return out[:n]


def main() -> None:
    ap = common.arg_parser(__doc__, pages=200, rules=200, repeat=3)
    args = ap.parse_args()
    content = document(args.pages)
    specs = rules(args.rules)
    print(f"document: {args.pages} pages, {len(content):,} characters; rules: {len(specs)}")
    compiled = [checker.compile_rule(s) for s in specs]  # compiled once per rule version (cached)
    platform, hits = [], 0
    for _ in range(args.repeat):
        t = time.perf_counter()
        prep = checker.prepare(checker.paragraphs_of(content))
        hits = len(checker.check(prep, compiled))
        platform.append(time.perf_counter() - t)
    baseline, raw = [], 0
    for _ in range(args.repeat):
        t = time.perf_counter()
        raw = checker.naive_check(content, specs)
        baseline.append(time.perf_counter() - t)
    p, b = statistics.median(platform), statistics.median(baseline)
    print(f"platform (sections, exceptions, negation): median {p * 1000:.0f} ms, {hits} findings")
    print(f"baseline (every pattern x every paragraph, no sections/exceptions): median {b * 1000:.0f} ms, "
          f"{raw} raw matches")
    print(f"aim: platform under {AIM_SECONDS:.0f} s -> {common.verdict(p < AIM_SECONDS)}")


if __name__ == "__main__":
    main()
