"""Generate the demo data of ``deposit_ledger`` (deterministic; run from the project root):

    .venv/bin/python addons/deposit_ledger/demo/generate.py

Deposits of the bids and contracts of ``procurement_base``'s demo projects in 长春市 and
吉林市 (referenced by external id), in every state, with their ledger entries; plus four
old projects (2020-2021, finished before the 2022-05-01 cut-off) whose deposits are still
held or forfeited, for the cleanup. Due dates come from the platform's working-day
calendar, late fees from the shipped LPR table, with the same formulas as the services.

Writes demo/dl_old_project.csv (pb_project rows), dl_old_package.csv, dl_old_bid.csv,
dl_project_reason.csv and dl_deposit.yaml (deposits and entries, noupdate: a demo reload
never rewrites a ledger).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from core.services.calendar import default_calendar  # noqa: E402

PB = ROOT / "addons" / "procurement_base" / "demo"
rng = random.Random(20251127)
CAL = default_calendar()
D = dt.date.fromisoformat


def q(ref: str) -> str:
    """A procurement_base demo reference, qualified for this module."""
    return ref if "." in ref else f"procurement_base.{ref}"


def read(name: str) -> list[dict[str, str]]:
    with open(PB / name, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def lpr_periods() -> list[tuple[dt.date, Decimal]]:
    import yaml

    data = yaml.safe_load((HERE.parent / "data" / "dl_lpr_rate.yaml").read_text(encoding="utf-8"))
    return sorted((D(r["effective_date"]), Decimal(r["rate_percent"])) for r in data["records"])


LPR = lpr_periods()


def late_fee(principal: Decimal, due: dt.date, paid: dt.date) -> tuple[Decimal, int]:
    if paid <= due:
        return Decimal("0.00"), 0
    total = Decimal(0)
    first = due + dt.timedelta(days=1)
    for i, (start, rate) in enumerate(LPR):
        end = LPR[i + 1][0] - dt.timedelta(days=1) if i + 1 < len(LPR) else paid
        lo, hi = max(start, first), min(end, paid)
        if lo <= hi:
            total += rate * ((hi - lo).days + 1)
    fee = (principal * total * Decimal("1.2") / 100 / 360).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return fee, (paid - due).days


def money(x: Decimal) -> str:
    return str(x.quantize(Decimal("0.01")))


def deposit_amount(budget: Decimal) -> Decimal:
    """1 % of the budget, rounded down to 100 yuan (below the 2 % cap)."""
    return (budget / 100 / 100).to_integral_value(rounding="ROUND_FLOOR") * 100


deposits: list[dict] = []
entries: list[dict] = []
reasons: list[dict] = []
seq = {"n": 0}


def acct() -> str:
    return "62220" + "".join(rng.choice("0123456789") for _ in range(14))


def add_deposit(xid: str, **values) -> dict:
    dep = {"id": xid, "supplier_fault": False, "status": "held", **values}
    deposits.append(dep)
    return dep


def add_entry(dep: dict, kind: str, amount: Decimal, on: dt.date, **values) -> str:
    seq["n"] += 1
    xid = f"{dep['id']}_e{seq['n']}"
    entries.append({"id": xid, "deposit_id:ref": dep["id"], "kind": kind, "amount": money(amount),
                    "entry_date": on.isoformat(), "region_id:ref": dep["region_id:ref"],
                    "late_fee": values.pop("late_fee", "0.00"),
                    "overdue_days": values.pop("overdue_days", 0), "created_by": "demo",
                    **values})
    return xid


def due(trigger_date: dt.date, n: int = 5) -> dt.date:
    return CAL.add_working_days(trigger_date, n)


def base_deposit(xid, number, kind, project, region, supplier, holder, amount, received, *,
                 form="transfer", package=None, bid=None, contract=None):
    values = {"number": number, "kind": kind, "project_id:ref": project,
              "region_id:ref": region, "supplier_id:ref": supplier, "holder_id:ref": holder,
              "form": form, "amount": money(amount), "received_date": received.isoformat(),
              "payer_account": acct(), "payer_bank": rng.choice(
                  ["中国工商银行长春分行", "中国建设银行吉林分行", "吉林银行", "中国银行吉林市分行"]),
              "receipt_reference": f"SK{received:%Y%m%d}{rng.randint(10000, 99999)}"}
    if package:
        values["package_id:ref"] = package
    if bid:
        values["bid_id:ref"] = bid
    if contract:
        values["contract_id:ref"] = contract
    if form == "guarantee":
        values.update(guarantee_type=rng.choice(["bank", "e_guarantee", "insurer"]),
                      guarantee_number=f"BH{received:%Y%m%d}{rng.randint(1000, 9999)}",
                      guarantee_issuer=rng.choice(["中国银行吉林省分行", "吉林银行", "中国人民财产保险吉林省分公司"]),
                      guarantee_valid_until=(received + dt.timedelta(days=180)).isoformat())
    dep = add_deposit(xid, **values)
    if form != "guarantee":
        add_entry(dep, "receipt", amount, received, bank_reference=values["receipt_reference"],
                  payee_account=values["payer_account"])
    return dep


def settle_refund(dep, amount, trigger, trigger_date, paid: dt.date | None, *, fault=False):
    dep["trigger"], dep["trigger_date"] = trigger, trigger_date.isoformat()
    d = due(trigger_date)
    dep["due_date"] = d.isoformat()
    if paid is None:
        return
    fee, days = late_fee(amount, d, paid)
    if fault:
        dep["supplier_fault"] = True
        dep["supplier_fault_reason"] = "供应商基本账户变更未及时告知，退款被银行退回"
        fee = Decimal("0.00")
    if dep["form"] == "guarantee":
        dep["status"] = "released"
    else:
        add_entry(dep, "refund", amount, paid, payee_account=dep["payer_account"],
                  bank_reference=f"TK{paid:%Y%m%d}{rng.randint(10000, 99999)}",
                  late_fee=money(fee), overdue_days=days)
        dep["status"] = "refunded"
    dep["settled_date"] = paid.isoformat()


def project_reason(project: str, region: str, code: str, clause: str) -> None:
    xid = f"pr_{project.split('.')[-1]}_{code}"
    if not any(r["id"] == xid for r in reasons):
        reasons.append({"id": xid, "project_id:ref": project, "reason_id:ref": f"reason_{code}",
                        "clause": clause, "region_id:ref": region})


def forfeit(dep, project, code, on, remitted_on=None):
    project_reason(project, dep["region_id:ref"], code, "招标文件第二章投标人须知第3.4条")
    add_entry(dep, "forfeiture", Decimal(dep["amount"]), on, **{"reason_id:ref": f"reason_{code}"},
              note="按招标文件载明情形不予退还")
    dep["status"], dep["settled_date"] = "forfeited", on.isoformat()
    if remitted_on:
        add_entry(dep, "remittance", Decimal(dep["amount"]), remitted_on,
                  voucher_no=f"FS{remitted_on:%Y%m%d}{rng.randint(1000, 9999)}",
                  note="上缴同级国库（非税收入一般缴款书）")
        dep["status"], dep["settled_date"] = "remitted", remitted_on.isoformat()


# -- 2025: deposits of procurement_base's demo projects ---------------------------------------------
projects = {r["id"]: r for r in read("pb_project.csv")}
packages = {r["id"]: r for r in read("pb_package.csv")}
contracts = read("pb_contract.csv")
TODAY = dt.date(2025, 11, 27)  # the demo year's "now" (data are fixed, independent of today)
cities = ("core.region_2201", "core.region_2202")
count = 0
for bid in read("pb_bid.csv"):
    pkg = packages[bid["package_id:ref"]]
    prj = projects[pkg["project_id:ref"]]
    region = prj["region_id:ref"]
    if not region.startswith(cities) or prj["status"] in ("draft", "published"):
        continue
    count += 1
    n = count
    amount = deposit_amount(Decimal(pkg["budget"]))
    received = D(bid["submitted_at"][:10])
    holder = q(prj["agency_id:ref"] or prj["purchaser_id:ref"])
    form = "guarantee" if n % 6 == 0 else ("cheque" if n % 5 == 0 else "transfer")
    xid = f"dep_{bid['id']}"
    number = f"BZJ-{prj['number']}-{pkg['number']}-{n:02d}"
    dep = base_deposit(xid, number, "bid", q(prj["id"]), region, q(bid["supplier_id:ref"]),
                       holder, amount, received, form=form, package=q(pkg["id"]), bid=q(bid["id"]))
    award = D(prj["award_date"]) if prj["award_date"] else None
    status = bid["status"]
    if prj["status"] in ("terminated", "failed"):
        term = D(prj["bid_deadline"][:10]) + dt.timedelta(days=3)
        settle_refund(dep, amount, "termination", term, None if n % 2 else due(term) - dt.timedelta(days=1))
    elif status == "lost" and award:
        mode = n % 4
        paid = {0: due(award) - dt.timedelta(days=2), 1: due(award) + dt.timedelta(days=9),
                2: None, 3: due(award)}[mode]
        if paid and paid > TODAY:
            paid = None
        settle_refund(dep, amount, "award_notice", award, paid, fault=(mode == 1 and n % 8 == 1))
    elif status == "won":
        ct = next((c for c in contracts if c["package_id:ref"] == pkg["id"]
                   and c["supplier_id:ref"] == bid["supplier_id:ref"] and c["signed_date"]), None)
        if ct is None:
            continue  # awarded, contract not signed yet: held, no trigger
        signed = D(ct["signed_date"])
        if form != "guarantee" and n % 2 == 0 and amount <= Decimal(ct["amount"]) / 10:
            perf_x = f"dep_perf_{ct['id']}"
            out = add_entry(dep, "conversion_out", amount, signed, note=f"转为履约保证金 {number}-LY")
            dep["status"], dep["settled_date"] = "converted", signed.isoformat()
            dep["converted_to_id:ref"] = perf_x
            perf = add_deposit(perf_x, number=f"{number}-LY", kind="performance",
                               **{"project_id:ref": q(prj["id"]), "region_id:ref": region,
                                  "supplier_id:ref": q(bid["supplier_id:ref"]),
                                  "holder_id:ref": holder, "package_id:ref": q(pkg["id"]),
                                  "contract_id:ref": q(ct["id"])},
                               form=form, amount=money(amount), received_date=signed.isoformat(),
                               payer_account=dep["payer_account"], note=f"由投标保证金 {number} 转入")
            add_entry(perf, "conversion_in", amount, signed, **{"linked_entry_id:ref": out},
                      note=f"由投标保证金 {number} 转入")
            if ct["status"] == "completed":
                done = signed + dt.timedelta(days=60)
                perf["trigger"], perf["trigger_date"] = "performance_done", done.isoformat()
                perf["due_date"] = due(done).isoformat()
        else:
            settle_refund(dep, amount, "contract_signed", signed,
                          min(due(signed), TODAY) if n % 3 else None)
    elif status == "withdrawn":
        # withdrawn after the deadline, within the validity period: forfeited
        when = received + dt.timedelta(days=5)
        if form == "guarantee":
            settle_refund(dep, amount, "withdrawal", received + dt.timedelta(days=1), None)
        else:
            forfeit(dep, q(prj["id"]), "withdraw_in_validity", when,
                    when + dt.timedelta(days=20) if n % 2 else None)
    # submitted bids of projects under evaluation: held, no trigger yet

# a voided receipt (recorded twice by mistake) in 吉林市
dup_src = next(d for d in deposits if d["region_id:ref"].startswith("core.region_2202")
               and d["form"] == "transfer")
dup = base_deposit("dep_void_jl", dup_src["number"] + "-CF", "bid", dup_src["project_id:ref"],
                   dup_src["region_id:ref"], dup_src["supplier_id:ref"], dup_src["holder_id:ref"],
                   Decimal(dup_src["amount"]), D(dup_src["received_date"]),
                   package=dup_src.get("package_id:ref"), bid=dup_src.get("bid_id:ref"))
rev_of = entries[-1]["id"]
add_entry(dup, "reversal", Decimal(dup["amount"]), D(dup["received_date"]) + dt.timedelta(days=1),
          reversed_kind="receipt", **{"reverses_id:ref": rev_of}, note="重复登记，冲销")
dup["status"], dup["settled_date"] = "void", (D(dup["received_date"]) + dt.timedelta(days=1)).isoformat()

# -- old projects (before the 2022-05-01 cut-off) ------------------------------------------------------
OLD = [
    # xid, number, name, purchaser, agency, region, budget, notice, award, contract, status
    ("old_cc_101", "CCZC2021-101", "长春市第一中学录播教室设备采购", "base.pur_cc_school",
     "procurement_base.agency_cc_center", "core.region_220102", "900000.00", "2021-05-10",
     "2021-06-10", "2021-06-25", "completed"),
    ("old_cc_102", "CCZC2021-102", "长春市疾控中心冷链设备采购", "procurement_base.pur_cc_cdc",
     "base.agency_cc", "core.region_220100", "600000.00", "2021-10-08", None, None, "terminated"),
    ("old_jl_055", "JLZC2020-055", "吉林市中心医院病房家具采购", "base.pur_jl_hospital",
     "base.agency_prov", "core.region_220202", "1500000.00", "2020-08-03", "2020-09-07",
     "2020-09-21", "completed"),
    ("old_jl_077", "JLZC2021-077", "吉林市第一实验小学课桌椅采购", "base.pur_jl_hospital",
     "base.agency_prov", "core.region_220200", "450000.00", "2021-11-15", None, None, "failed"),
]
SUPPLIERS = ["base.sup_cc_tech", "procurement_base.sup_cc_huayu", "procurement_base.sup_cc_zhiyuan",
             "base.sup_jl_med", "procurement_base.sup_cc_beifang"]
old_projects, old_packages, old_bids = [], [], []
for (xid, number, name, pur, agency, region, budget, notice, award, signed, status) in OLD:
    old_projects.append({
        "id": xid, "number": number, "name": name, "purchaser_id:ref": pur, "agency_id:ref": agency,
        "catalog_id:ref": "procurement_base.cat_A02", "method": "public_tender", "budget": budget,
        "sme_measure": "none", "sme_reserved_amount": "", "notice_date": notice,
        "bid_deadline": (D(notice) + dt.timedelta(days=21)).isoformat() + " 09:00:00",
        "opening_date": (D(notice) + dt.timedelta(days=21)).isoformat() if award else "",
        "award_date": award or "", "contract_date": signed or "", "status": status,
        "note": "历史项目（保证金清理演示）", "region_id:ref": region})
    pkg = f"{xid}_p1"
    old_packages.append({"id": pkg, "project_id:ref": xid, "number": "1", "name": name,
                         "budget": budget, "sme_reserved": "false", "region_id:ref": region})
    amount = deposit_amount(Decimal(budget))
    for k, sup in enumerate(SUPPLIERS[:3] if "cc" in xid else SUPPLIERS[1:4]):
        bstatus = ("won" if k == 0 else "lost") if award else "submitted"
        bx = f"{xid}_b{k}"
        old_bids.append({"id": bx, "project_id:ref": xid, "package_id:ref": pkg, "supplier_id:ref": sup,
                         "price": money(Decimal(budget) * Decimal("0.9") + k * 1000),
                         "status": bstatus, "submitted_at": (D(notice) + dt.timedelta(days=20)).isoformat()
                         + " 10:00:00", "region_id:ref": region})
        received = D(notice) + dt.timedelta(days=19)
        form = "guarantee" if (xid, k) == ("old_jl_055", 2) else "transfer"
        dep = base_deposit(f"dep_{bx}", f"BZJ-{number}-{k + 1}", "bid", xid, region, sup,
                           agency, amount, received, form=form, package=pkg, bid=bx)
        if xid == "old_cc_101":
            if k == 0:   # winner, refunded late in the 2026 cleanup
                settle_refund(dep, amount, "contract_signed", D(signed), None)
            elif k == 1:  # refunded on time in 2021
                settle_refund(dep, amount, "award_notice", D(award), due(D(award)))
            else:         # never refunded: refundable now, years overdue
                settle_refund(dep, amount, "award_notice", D(award), None)
        elif xid == "old_cc_102":
            if k == 0:
                settle_refund(dep, amount, "termination", D("2021-11-01"), None)
            elif k == 1:  # no event recorded: needs review
                pass
            else:
                project_reason(xid, region, "withdraw_in_validity", "招标文件第二章第3.4条")
                forfeit(dep, xid, "withdraw_in_validity", D("2021-11-05"))
        elif xid == "old_jl_055":
            if k == 0:   # winner refused to sign: forfeited, remitted in the cleanup
                forfeit(dep, xid, "refuse_sign", D("2020-10-10"), D("2022-06-15"))
            elif k == 1:
                settle_refund(dep, amount, "award_notice", D(award), None)
            else:        # a bank guarantee never released
                settle_refund(dep, amount, "award_notice", D(award), None)
        else:
            if k == 0:
                settle_refund(dep, amount, "termination", D("2021-12-10"), None)
            else:
                pass  # review

# progress of the cleanup: two old deposits refunded after the cut-off (2022 and 2026)
for xid, paid in (("dep_old_cc_101_b0", dt.date(2022, 7, 12)), ("dep_old_jl_077_b0", dt.date(2022, 9, 8))):
    dep = next(d for d in deposits if d["id"] == xid)
    amount = Decimal(dep["amount"])
    d = D(dep["due_date"])
    fee, days = late_fee(amount, d, paid)
    add_entry(dep, "refund", amount, paid, payee_account=dep["payer_account"],
              bank_reference=f"TK{paid:%Y%m%d}{rng.randint(10000, 99999)}", late_fee=money(fee),
              overdue_days=days, note="保证金清理：补退并支付资金占用费")
    dep["status"], dep["settled_date"] = "refunded", paid.isoformat()


# -- write ---------------------------------------------------------------------------------------------
def write_csv(name: str, rows: list[dict]) -> None:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(HERE / name, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in keys})


def yaml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    s = str(v).replace('"', '\\"')
    return f'"{s}"'


def write_yaml(name: str, blocks: list[tuple[str, list[dict]]]) -> None:
    lines = ["# Generated by demo/generate.py (do not edit by hand). noupdate: a demo reload never",
             "# rewrites deposits or their immutable ledger."]
    for table, rows in blocks:
        lines += [f"- table: {table}", "  noupdate: true", "  records:"]
        for r in rows:
            first = True
            for k, v in r.items():
                if v is None or v == "":
                    continue
                lines.append(f"    {'- ' if first else '  '}{k}: {yaml_value(v)}")
                first = False
    (HERE / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


write_csv("pb_project.dl_old.csv", old_projects)
write_csv("pb_package.dl_old.csv", old_packages)
write_csv("pb_bid.dl_old.csv", old_bids)
write_csv("dl_project_reason.csv", reasons)
# a bid deposit names the performance deposit it became: performance deposits go first
ordered = sorted(deposits, key=lambda d: d["kind"] != "performance")
write_yaml("dl_deposit.yaml", [("dl_deposit", ordered), ("dl_entry", entries)])
states: dict[str, int] = {}
for d in deposits:
    states[d["status"]] = states.get(d["status"], 0) + 1
print(f"{len(deposits)} deposits, {len(entries)} entries, {len(reasons)} project reasons; {states}")
