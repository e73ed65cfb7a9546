"""Writes the demo CSVs of ``expert_credit`` (deterministic: seeded random; run again, get
identical files)::

    .venv/bin/python addons/expert_credit/demo/generate.py

The scenario, as of procurement_base's demo "today" (2025-11-28):

* 420 experts registered by 长春市 (city and districts), 吉林市, 延边州 and the province,
  across 20 specialties (catalog codes of procurement_base); valid ID numbers; a few
  suspended, dismissed or finance supervisors;
* declared relations, many with demo suppliers that bid on the demo projects (by external
  id), with demo purchasers, and with firms off the platform (credit code or name only):
  real avoidance conflicts that the recorded draws exclude with their reasons;
* for every demo project that was reviewed (opened), a draw request with a fixed seed, the
  first draw (the documented function ``ec-draw-v1`` over the eligible pool computed with
  the same rules as the SQL), a declined expert replaced by a further draw in one project,
  assignments, evaluations (on time, late, pending and overdue, one appeal decided, one
  pending), bad records, and each evaluated expert's credit score and history.

``erp expert replay-draw --all`` reproduces every recorded draw.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import random
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from addons.expert_credit import draw as algo  # noqa: E402
from addons.expert_credit.services import compute_score, id_check_char  # noqa: E402
from core.services.calendar import add_working_days  # noqa: E402
from core.services.credit_code import make  # noqa: E402

SEED = 20251128
AS_OF = dt.date(2025, 11, 28)
rng = random.Random(SEED)
PB = ROOT / "addons" / "procurement_base" / "demo"

SPECIALTIES = ["A02", "A0201", "A0202", "A0205", "A0206", "A0210", "A04", "A05", "A07", "B07",
               "B08", "C02", "C03", "C06", "C08", "C12", "C14", "C16", "C21", "C23"]
REGIONS = [("220100", 70), ("220102", 45), ("220104", 45), ("220200", 60), ("220202", 40),
           ("220204", 30), ("222400", 50), ("222401", 30), ("220000", 50)]
CITY = {"2201": "长春市", "2202": "吉林市", "2224": "延边州", "2200": "吉林省"}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志成晓东海波宁琳雪梅春雷鹏飞丹宏亮斌俊峰"
TITLES = ["高级工程师", "正高级工程师", "高级会计师", "教授", "副教授", "主任医师", "副主任医师",
          "高级经济师", "研究员", "副研究员", "高级农艺师", "律师（一级）"]
EMPLOYERS = ["吉林大学", "东北师范大学", "长春理工大学", "吉林农业大学", "吉林省建筑设计院",
             "吉林省计量科学研究院", "北华大学", "延边大学", "长春工业大学", "吉林化工学院",
             "吉林省产品质量监督检验院", "吉林省信息技术研究所"]
BAD_KINDS = ["not_independent", "leak", "refuse_assist", "damage_credibility", "no_withdrawal"]


def rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader((PB / name).open(encoding="utf-8-sig")))


def write(name: str, header: list[str], data: list[list]) -> None:
    with (HERE / name).open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for r in data:
            w.writerow(["" if v is None else v for v in r])


def ref(xmlid: str) -> str:
    return xmlid if "." in xmlid else f"procurement_base.{xmlid}"


def id_number(region: str, born: dt.date, n: int) -> str:
    first17 = f"{region}{born:%Y%m%d}{n % 1000:03d}"
    return first17 + id_check_char(first17)


def main() -> None:
    projects = {r["id"]: r for r in rows("pb_project.csv")}
    packages = {r["id"]: r for r in rows("pb_package.csv")}
    bidders: dict[str, set[str]] = defaultdict(set)
    for b in rows("pb_bid.csv"):
        if b["status"] != "withdrawn":
            bidders[packages[b["package_id:ref"]]["project_id:ref"]].add(ref(b["supplier_id:ref"]))
    suppliers = sorted({s for v in bidders.values() for s in v})
    purchasers = sorted({ref(p["purchaser_id:ref"]) for p in projects.values()})

    # -- experts --------------------------------------------------------------------------
    experts = []  # dicts
    n = 0
    for region, count in REGIONS:
        for _ in range(count):
            n += 1
            born = dt.date(1958, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 32))
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            status, until = "active", None
            r = rng.random()
            if r < 0.02:
                status = "dismissed"
            elif r < 0.05:
                status, until = "suspended", AS_OF + dt.timedelta(days=rng.randrange(30, 300))
            specs = rng.sample(SPECIALTIES, rng.choice((1, 2, 2, 3)))
            # the demo projects' specialties are well covered
            if rng.random() < 0.45:
                specs = sorted(set(specs) | {rng.choice(["A02", "A07", "A05", "C16", "B08", "A04"])})
            experts.append({
                "xid": f"expert_{n:04d}", "n": n, "name": name,
                "id_number": id_number(region[:4] + "01" if region.endswith("00") else region, born, n),
                "phone": f"13{rng.randrange(0, 10)}{rng.randrange(10**7, 10**8)}",
                "employer": rng.choice(EMPLOYERS), "title": rng.choice(TITLES),
                "years": rng.randrange(8, 35), "region": region, "status": status,
                "until": until, "finance": n % 97 == 0, "specs": specs, "relations": []})

    # -- relations ------------------------------------------------------------------------
    rel_rows = []
    rid = 0

    def relation(e, kind, org=None, code=None, name=None, detail=None, start=None, end=None):
        nonlocal rid
        rid += 1
        e["relations"].append({"kind": kind, "org": org, "code": code, "name": name,
                               "start": start, "end": end})
        rel_rows.append([f"rel_{rid:04d}", e["xid"], kind, org or "", code, name or "",
                         detail, start, end, f"core.region_{e['region']}"])

    for e in experts:
        r = rng.random()
        if r < 0.18:  # past employment with a demo supplier (some ended long ago)
            end = AS_OF - dt.timedelta(days=rng.choice((200, 600, 1500, 2200)))
            relation(e, "employment", org=rng.choice(suppliers), name=None, detail="技术负责人",
                     start=end - dt.timedelta(days=2000), end=end)
        elif r < 0.26:
            relation(e, rng.choice(["director", "shareholder"]), org=rng.choice(suppliers),
                     detail=rng.choice(["监事", "独立董事", "股东（持股 12%）"]),
                     start=dt.date(2019, 1, 1))
        elif r < 0.32:
            relation(e, "relative", org=rng.choice(suppliers), detail=rng.choice(
                ["配偶任法定代表人", "子女任法定代表人", "兄弟任法定代表人"]), start=dt.date(2020, 1, 1))
        elif r < 0.37:
            relation(e, "employment", org=rng.choice(purchasers), detail="兼职顾问",
                     start=dt.date(2021, 3, 1))
        elif r < 0.45:  # firms that are not on the platform: credit code and name only
            code = make(f"912201{rng.randrange(10**10, 10**11)}")
            relation(e, rng.choice(["employment", "shareholder"]), code=code,
                     name=f"{rng.choice(['长春', '吉林', '四平'])}{rng.choice(['恒远', '瑞达', '东升'])}"
                          f"{rng.choice(['科技', '建设', '咨询'])}有限公司",
                     detail="曾任职", start=dt.date(2012, 5, 1), end=dt.date(2018, 6, 30))

    # -- draws ----------------------------------------------------------------------------
    weights = {"excellent": 12, "good": 10, "pass": 6, "new": 10, "fail": 0}
    req_rows, line_rows, draw_rows, excl_rows, asg_rows, eval_rows = [], [], [], [], [], []
    booked: dict[dt.date, set[int]] = defaultdict(set)
    evaluations: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    by_n = {e["n"]: e for e in experts}
    reviewed = sorted((p for p in projects.values() if p["opening_date"]),
                      key=lambda p: (p["opening_date"], p["id"]))
    draw_id = asg_id = excl_id = eval_id = 0
    for req_no, p in enumerate(reviewed, start=1):
        review = dt.date.fromisoformat(p["opening_date"])
        review_at = dt.datetime.combine(review, dt.time(9, 30))
        created = dt.datetime.combine(review - dt.timedelta(days=1), dt.time(15, 0))
        cat = p["catalog_id:ref"].removeprefix("cat_")
        count = 3 if p["method"] in ("inquiry", "single_source") else 5
        seed = hashlib.sha256(f"expert-demo-{p['id']}".encode()).digest()
        targets = {ref(p["purchaser_id:ref"])} | bidders[p["id"]]
        cutoff = review.replace(year=review.year - 3)
        req_xid = f"req_{p['id']}"
        closed = p["status"] in ("awarded", "contracted", "completed")
        req_rows.append([req_xid, ref(p["id"]), review_at, review, "评审室（一）", "core.region_220000",
                         seed.hex(), algo.seed_hash(seed),
                         dt.datetime.combine(review, dt.time(18, 0)) if closed else None,
                         "closed" if closed else "drawn", created, "agency", None,
                         p["region_id:ref"]])
        line_rows.append([f"{req_xid}_l1", req_xid, 1, f"procurement_base.cat_{cat}", count, 1])
        declined: set[int] = set()
        assigned: set[int] = set()
        parent = None
        seqs = [1, 2] if req_no % 4 == 0 else [1]
        for seq in seqs:
            pool, excluded = [], {}
            for e in experts:
                if cat not in e["specs"]:
                    continue
                why = []
                if e["status"] == "dismissed":
                    why.append("dismissed")
                if e["status"] == "suspended" and (e["until"] is None or e["until"] >= review):
                    why.append("suspended")
                if e["finance"]:
                    why.append("finance_supervisor")
                if e["n"] in booked[review] - assigned:
                    why.append("booked")
                if e["n"] in declined | assigned:
                    why.append("declined")
                for r in e["relations"]:
                    if r["org"] in targets or False:
                        end = r["end"]
                        if r["kind"] == "relative":
                            if end is None or end >= review:
                                why.append("relative")
                        elif end is None or end >= cutoff:
                            why.append(r["kind"])
                if why:
                    excluded[e["n"]] = sorted(set(why))
                else:
                    pool.append((f"ZJ{e['n']:07d}", weights["new"]))
            pool.sort()
            k = count + 1 if seq == 1 else len(declined)
            picks = [(ln, int(code[2:])) for ln, code in algo.run(seed, seq, [(1, pool, k)])]
            draw_id += 1
            text = algo.pool_text([(1, pool)])
            draw_rows.append([f"draw_{draw_id:03d}", req_xid, seq, parent, algo.ALGORITHM, text,
                              algo.pool_hash(text), len(pool), f"1|{k}", k, len(picks), k - len(picks),
                              None, "\n".join(f"{ln}|ZJ{e:07d}" for ln, e in picks),
                              dt.datetime.combine(review - dt.timedelta(days=1), dt.time(16, seq)),
                              "agency", p["region_id:ref"]])
            parent = f"draw_{draw_id:03d}"
            for eid, why in sorted(excluded.items()):
                excl_id += 1
                excl_rows.append([f"excl_{excl_id:05d}", parent, f"expert_{eid:04d}", ",".join(why)])
            for pos, (_, eid) in enumerate(picks, start=1):
                asg_id += 1
                reserve = seq == 1 and pos > count
                status = "accepted"
                reason = None
                if seq == 1 and pos == 2 and len(seqs) == 2:
                    status, reason = "declined", rng.choice(["出差在外", "身体原因", "与评审时间冲突"])
                    declined.add(eid)
                assigned.add(eid)
                booked[review].add(eid)
                asg_rows.append([f"asg_{asg_id:04d}", req_xid, parent, ref(p["id"]), f"expert_{eid:04d}",
                                 f"procurement_base.cat_{cat}", len(asg_rows) + 1, reserve, review,
                                 by_n[eid]["name"], status,
                                 dt.datetime.combine(review - dt.timedelta(days=1), dt.time(17, 0)),
                                 reason, p["region_id:ref"]])
                if status != "accepted" or reserve:
                    continue
                # the evaluation
                eval_id += 1
                due = add_working_days(review, 5)
                agency = ref(p["agency_id:ref"]) if p["agency_id:ref"] else ref(p["purchaser_id:ref"])
                state = "submitted"
                if review > AS_OF - dt.timedelta(days=10) and rng.random() < 0.6:
                    state = "pending"
                scores = [Decimal(rng.randrange(60, 100)) for _ in range(4)]
                if eid % 23 == 0:
                    scores = [Decimal(rng.randrange(30, 62)) for _ in range(4)]
                total = (scores[0] * 20 + scores[1] * 50 + scores[2] * 20 + scores[3] * 10) / 100
                total = total.quantize(Decimal("0.01"))
                late = rng.random() < 0.15
                submitted = (add_working_days(review, rng.randrange(6, 9)) if late
                             else add_working_days(review, rng.randrange(1, 5)))
                appeal = decision = None
                if state == "submitted" and eval_id % 17 == 0:
                    state, appeal = "decided", "评分未考虑本人已按规定提出的书面意见"
                    decision = "upheld"
                elif state == "submitted" and eval_id % 29 == 0:
                    state, appeal = "appealed", "专业能力评分与评审记录不符"
                if state == "pending":
                    eval_rows.append([f"eval_{eval_id:04d}", f"asg_{asg_id:04d}", f"expert_{eid:04d}",
                                      ref(p["id"]), agency, review, due, "pending", None, None,
                                      None, None, None, None, None, None, None, None, None, None,
                                      None, p["region_id:ref"]])
                    continue
                evaluations[eid].append((review, total))
                eval_rows.append([f"eval_{eval_id:04d}", f"asg_{asg_id:04d}", f"expert_{eid:04d}",
                                  ref(p["id"]), agency, review, due, state, *scores, total,
                                  rng.choice(["评审认真，意见明确", "专业熟练，遵守纪律", "按时到场，独立评审",
                                              "个别评分理由不够充分"]),
                                  submitted, "agency", appeal,
                                  add_working_days(submitted, 2) if appeal else None, decision,
                                  "经核查评审记录，维持原评价" if decision else None,
                                  add_working_days(submitted, 6) if decision else None,
                                  p["region_id:ref"]])

    # -- bad records -----------------------------------------------------------------------
    penalties = {"not_independent": (20, 6), "leak": (30, 12), "no_withdrawal": (30, 12),
                 "refuse_assist": (15, 3), "damage_credibility": (20, 6)}
    bad_rows, bad_by = [], defaultdict(list)
    candidates = [e for e in experts if e["status"] == "active" and e["region"] in
                  ("220100", "220102", "220200", "220202", "222400")]
    for i, e in enumerate(rng.sample(candidates, 8), start=1):
        kind = BAD_KINDS[i % len(BAD_KINDS)]
        occurred = AS_OF - dt.timedelta(days=rng.randrange(20, 300))
        pen, months = penalties[kind]
        until = occurred + dt.timedelta(days=30 * months)
        if until >= AS_OF:
            e["status"], e["until"] = "suspended", until
            consequence = f"暂停抽取至 {until.isoformat()}"
        else:
            consequence = f"暂停抽取至 {until.isoformat()}（已期满恢复）"
        bad_by[e["n"]].append((occurred, pen))
        bad_rows.append([f"bad_{i:03d}", e["xid"], kind, occurred, None,
                         f"评审现场录像及采购人书面报告（编号 JLZJ-2025-{i:03d}）", consequence,
                         "expert_admin", f"core.region_{e['region']}"])

    # -- credit scores -----------------------------------------------------------------------
    score_rows = []
    for e in experts:
        evs, bads = evaluations.get(e["n"], []), bad_by.get(e["n"], [])
        e["score"], e["band"] = None, "new"
        if not evs and not bads:
            continue
        score, base, pen, cnt = compute_score(evs, bads, AS_OF, window_days=730, half_life_days=365,
                                              initial=Decimal(80))
        band = ("excellent" if score >= 85 else "good" if score >= 75 else "pass" if score >= 60
                else "fail")
        e["score"], e["band"] = score, band
        score_rows.append([f"score_{e['n']:04d}", e["xid"], AS_OF, score, band, base, pen, cnt,
                           "演示数据：按评价与不良记录计算", f"core.region_{e['region']}"])

    write("ec_expert.csv", ["id", "code", "name", "id_number", "phone", "employer_name", "title",
                            "title_years", "status", "suspended_until", "finance_supervisor",
                            "credit_score", "credit_band", "region_id:ref"],
          [[e["xid"], f"ZJ{e['n']:07d}", e["name"], e["id_number"], e["phone"], e["employer"], e["title"], e["years"],
            e["status"], e["until"], "true" if e["finance"] else "false", e["score"], e["band"],
            f"core.region_{e['region']}"] for e in experts])
    spec_rows, sid = [], 0
    for e in experts:
        for code in e["specs"]:
            sid += 1
            spec_rows.append([f"spec_{sid:04d}", e["xid"], f"procurement_base.cat_{code}",
                              f"core.region_{e['region']}"])
    write("ec_expert_specialty.csv", ["id", "expert_id:ref", "catalog_id:ref", "region_id:ref"],
          spec_rows)
    names = {}
    for f in ("erp_organization.procurement.csv",):
        for r in rows(f):
            names[ref(r["id"])] = r["name"]
    for r in csv.DictReader((ROOT / "addons/base/demo/erp_organization.csv").open(encoding="utf-8-sig")):
        names[f"base.{r['id']}"] = r["name"]
    write("ec_expert_relation.csv", ["id", "expert_id:ref", "kind", "org_id:ref", "org_credit_code",
                                     "org_name", "detail", "date_from", "date_to", "region_id:ref"],
          [[r[0], r[1], r[2], r[3], r[4], r[5] or names.get(r[3], ""), r[6], r[7], r[8], r[9]]
           for r in rel_rows])
    write("ec_draw_request.csv", ["id", "project_id:ref", "review_at", "review_date", "review_place",
                                  "pool_region_id:ref", "seed", "seed_hash", "seed_revealed_at",
                                  "status", "created_at", "created_by", "note", "region_id:ref"],
          req_rows)
    write("ec_draw_request_line.csv", ["id", "request_id:ref", "seq", "catalog_id:ref", "count",
                                       "reserves"], line_rows)
    write("ec_draw.csv", ["id", "request_id:ref", "seq", "parent_id:ref", "algorithm", "pool",
                          "pool_hash", "pool_size", "plan", "needed", "drawn_count", "shortfall",
                          "shortfall_note", "result", "drawn_at", "drawn_by", "region_id:ref"],
          draw_rows)
    write("ec_draw_exclusion.csv", ["id", "draw_id:ref", "expert_id:ref", "reasons"], excl_rows)
    write("ec_assignment.csv", ["id", "request_id:ref", "draw_id:ref", "project_id:ref",
                                "expert_id:ref", "catalog_id:ref", "position", "reserve",
                                "review_date", "expert_name", "status", "responded_at",
                                "decline_reason", "region_id:ref"], asg_rows)
    write("ec_evaluation.csv", ["id", "assignment_id:ref", "expert_id:ref", "project_id:ref",
                                "evaluator_org_id:ref", "review_date", "due_date", "status",
                                "score_ethics", "score_competence", "score_discipline",
                                "score_integrity", "total", "remarks", "submitted_at",
                                "submitted_by", "appeal_reason", "appealed_at", "decision",
                                "decision_note", "decided_at", "region_id:ref"], eval_rows)
    write("ec_bad_record.csv", ["id", "expert_id:ref", "kind", "occurred_on", "project_id:ref",
                                "evidence", "consequence", "recorded_by", "region_id:ref"], bad_rows)
    write("ec_credit_score.csv", ["id", "expert_id:ref", "as_of", "score", "band", "base",
                                  "penalty", "evaluations", "cause", "region_id:ref"], score_rows)
    print(f"{len(experts)} experts, {len(spec_rows)} specialties, {len(rel_rows)} relations, "
          f"{len(req_rows)} requests, {len(draw_rows)} draws, {len(excl_rows)} exclusions, "
          f"{len(asg_rows)} assignments, {len(eval_rows)} evaluations, {len(bad_rows)} bad records")


if __name__ == "__main__":
    main()
