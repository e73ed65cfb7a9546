"""Writes the demo CSVs of ``emall``: the provincial e-mall in 2025.

Run from the repository root::

    .venv/bin/python addons/emall/demo/generate.py

Deterministic (seeded): running it again rewrites identical files. As of :data:`AS_OF`
(the same "today" as procurement_base's demo):

* admissions of base's and procurement_base's demo suppliers (admitted, one under review,
  one rejected, one suspended) with the categories they sell in;
* listings across the general mall's categories (every status; attribute values per the
  category templates; one listing whose reference price was lowered after listing, for
  the price monitor);
* orders in every state in 长春市 and 吉林市, of several suppliers, with lines, acceptance
  records, procurement_base contracts (source ``emall``) and payments;
* price comparisons (open, closed, awarded, failed) with quotes of several suppliers in both
  cities; two price alerts in the review queue.

Money is ``Decimal`` written with two decimals; never float.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from core.services.calendar import add_working_days  # noqa: E402

SEED = 20251128
AS_OF = dt.date(2025, 11, 28)
CENT = Decimal("0.01")
rng = random.Random(SEED)


def normalize(text: str) -> str:  # the same rule as addons.emall.services.normalize
    import re
    import unicodedata

    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "").casefold())


CATS = {r["code"]: r for r in yaml.safe_load((ROOT / "addons/emall/data/emall_category.yaml")
                                              .read_text(encoding="utf-8"))["records"]}

#: supplier external id -> (region code, categories, brands by category)
SUPPLIERS = {
    "base.sup_cc_tech": ("220100", ["A0201", "A0202"]),
    "base.sup_jl_med": ("220200", ["A0201", "A0206", "A020910"]),
    "procurement_base.sup_cc_zhiyuan": ("220100", ["A0201"]),
    "procurement_base.sup_cc_beifang": ("220100", ["A05"]),
    "procurement_base.sup_cc_shenghua": ("220100", ["A0202", "A0206"]),
    "procurement_base.sup_jl_wusong": ("220200", ["A0201", "A0202"]),
    "procurement_base.sup_jl_beishan": ("220200", ["A05"]),
}
#: (status, reason, suspended_until) of the special cases
SPECIAL = {
    "procurement_base.sup_cc_boyuan": ("applied", None, None),
    "procurement_base.sup_sy_huayu": ("rejected", "营业执照信息与统一社会信用代码不一致，请核对后重新申请", None),
    "procurement_base.sup_jl_jiangcheng": ("suspended", "价格监测发现多次高于参考价挂网，暂停入驻资格整改", "2026-01-31"),
}
ANSWERS = {"license": "营业执照（统一社会信用代码）已上传", "civil_liability": True, "good_credit": True,
           "performance_capacity": True, "tax_social_security": True, "no_major_violation": True,
           "not_blacklisted": True, "price_commitment": True, "after_sales": True,
           "bank_account": "对公账户已登记"}

#: leaf category -> [(name, brand, model prefix, price range, attributes factory)]
def _desktop():
    return {"cpu": rng.choice(["国产 8 核 2.5GHz", "国产 6 核 2.2GHz", "Intel i5 6 核", "Intel i7 8 核"]),
            "memory_gb": rng.choice(["8", "16", "32"]), "storage_gb": rng.choice(["256", "512", "1024"]),
            "os": rng.choice(["国产操作系统", "国产操作系统", "Windows"]), "monitor_inch": "23.8",
            "xinchuang": rng.choice(["true", "false"])}


def _laptop():
    return {"cpu": rng.choice(["国产 8 核", "Intel i5", "Intel i7"]), "memory_gb": rng.choice(["16", "32"]),
            "storage_gb": rng.choice(["512", "1024"]), "screen_inch": rng.choice(["14", "15.6"]),
            "os": rng.choice(["国产操作系统", "Windows"]), "weight_kg": rng.choice(["1.4", "1.6", "1.9"])}


PRODUCTS = {
    "A02010105": [("台式计算机", ["联想", "华为", "长城", "同方", "清华紫光"], "DT", (3800, 7800), _desktop)],
    "A02010108": [("便携式计算机", ["联想", "华为", "戴尔", "惠普"], "NB", (4500, 9800), _laptop)],
    "A02010104": [("机架式服务器", ["浪潮", "华为", "新华三", "曙光"], "SR", (22000, 68000),
                   lambda: {"cpu": "国产 32 核", "cpu_count": rng.choice(["1", "2"]),
                            "memory_gb": rng.choice(["64", "128", "256"]), "storage_tb": rng.choice(["4", "8", "16"]),
                            "form": "机架式", "xinchuang": "true"})],
    "A02010601": [("激光打印机", ["奔图", "联想", "惠普", "兄弟"], "P", (900, 3800),
                   lambda: {"technology": "激光", "color": rng.choice(["true", "false"]),
                            "paper": rng.choice(["A4", "A3"]), "ppm": rng.choice(["30", "35", "40"]),
                            "duplex": "true"})],
    "A02010202": [("网络交换机", ["华为", "新华三", "锐捷"], "S", (1200, 9800),
                   lambda: {"ports": rng.choice(["24", "48"]), "layer": rng.choice(["二层", "三层"]),
                            "poe": rng.choice(["true", "false"])})],
    "A020201": [("数码复印机", ["理光", "柯尼卡美能达", "京瓷", "东芝"], "MP", (12000, 36000),
                 lambda: {"color": rng.choice(["true", "false"]), "paper": "A3", "ppm": rng.choice(["30", "45", "55"])})],
    "A020202": [("投影仪", ["爱普生", "明基", "索尼", "极米"], "EB", (2800, 12800),
                 lambda: {"lumens": rng.choice(["3600", "4200", "5000"]), "resolution": rng.choice(["WXGA", "1080P"]),
                          "light": rng.choice(["灯泡", "激光"])})],
    "A020210-01": [("复印纸", ["得力", "晨光", "亚太森博"], "A4-", (110, 190),
                    lambda: {"size": "A4", "gsm": rng.choice(["70", "80"]), "sheets_per_box": "2500"})],
    "A02061804": [("空调机", ["格力", "美的", "海尔", "海信"], "KF", (2600, 12800),
                   lambda: {"kind": rng.choice(["壁挂式", "柜式"]), "capacity_hp": rng.choice(["1.5", "2", "3"]),
                            "energy_grade": rng.choice(["一级", "二级"]), "inverter": "true"})],
    "A020910": [("液晶电视机", ["海信", "TCL", "创维", "长虹"], "TV", (2200, 8800),
                 lambda: {"size_inch": rng.choice(["55", "65", "75"]), "resolution": "4K"})],
    "A050102": [("办公桌", ["北方", "森联", "圣奥", "震旦"], "BG", (680, 3200),
                 lambda: {"material": rng.choice(["钢制", "人造板", "实木"]), "size": "1400×700×750",
                          "formaldehyde": rng.choice(["ENF", "E0"])})],
    "A050103": [("办公椅", ["北方", "森联", "圣奥", "震旦"], "YZ", (280, 1680),
                 lambda: {"material": rng.choice(["网布", "皮革"]), "adjustable": "true"})],
    "A050104": [("文件柜", ["北方", "森联", "震旦"], "WJG", (560, 2400),
                 lambda: {"material": "钢制", "kind": rng.choice(["文件柜", "保密柜", "更衣柜"]),
                          "size": "900×400×1850"})],
}
LEAF_ROOT = {"A02010105": "A0201", "A02010108": "A0201", "A02010104": "A0201", "A02010601": "A0201",
             "A02010202": "A0201", "A020201": "A0202", "A020202": "A0202", "A020210-01": "A0202",
             "A02061804": "A0206", "A020910": "A020910", "A050102": "A05", "A050103": "A05", "A050104": "A05"}

#: purchaser external id -> region code
PURCHASERS = {
    "base.pur_cc_school": "220102", "procurement_base.pur_cc_hospital": "220104",
    "procurement_base.pur_cc_shiyan": "220104", "procurement_base.pur_ng_mingzhu": "220102",
    "base.pur_jl_hospital": "220202", "procurement_base.pur_jl_no1": "220204",
    "procurement_base.pur_jl_people": "220202",
}
ORDER_STATES = ["placed", "confirmed", "shipped", "delivered", "accepted", "paid", "cancelled", "disputed"]


def money(x) -> Decimal:
    return Decimal(x).quantize(CENT, rounding=ROUND_HALF_UP)


def write(name: str, header: list[str], rows: list[dict]) -> None:
    with (HERE / name).open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r[k]) for k in header})


def ts(d: dt.date, hour: int = 10, minute: int = 0) -> str:
    return dt.datetime.combine(d, dt.time(hour, minute)).isoformat()


def main() -> None:
    admissions, adm_cats = [], []
    for i, (sup, (region, cats)) in enumerate(SUPPLIERS.items(), start=1):
        applied = AS_OF - dt.timedelta(days=200 - i * 5)
        admissions.append({"id": f"adm_{i}", "supplier_id:ref": sup, "status": "admitted",
                           "answers": json.dumps(ANSWERS, ensure_ascii=False), "contact": "销售部",
                           "phone": "0431-80000000" if region == "220100" else "0432-80000000",
                           "applied_at": ts(applied), "decided_at": ts(applied + dt.timedelta(days=3)),
                           "decided_by": "emall_admin"})
        for c in cats:
            adm_cats.append({"id": f"admc_{i}_{c}", "admission_id:ref": f"adm_{i}",
                             "category_id:ref": f"ecat_{c}"})
    for j, (sup, (status, reason, until)) in enumerate(SPECIAL.items(), start=len(SUPPLIERS) + 1):
        applied = AS_OF - dt.timedelta(days=30 + j)
        admissions.append({"id": f"adm_{j}", "supplier_id:ref": sup, "status": status,
                           "answers": json.dumps(ANSWERS, ensure_ascii=False), "contact": "销售部",
                           "phone": "0431-80000001", "applied_at": ts(applied),
                           "decided_at": ts(applied + dt.timedelta(days=2)) if status != "applied" else None,
                           "decided_by": "emall_admin" if status != "applied" else None,
                           "reason": reason, "suspended_until": until})
        adm_cats.append({"id": f"admc_{j}_A0201", "admission_id:ref": f"adm_{j}", "category_id:ref": "ecat_A0201"})

    # listings ------------------------------------------------------------------------------
    listings, regions = [], []
    by_supplier_leaf: dict[tuple[str, str], list[dict]] = {}
    n = 0
    for sup, (region, roots) in SUPPLIERS.items():
        leaves = [leaf for leaf, root in LEAF_ROOT.items() if root in roots]
        for leaf in leaves:
            for name, brands, prefix, (low, high), attrs in PRODUCTS[leaf]:
                for brand in rng.sample(brands, k=min(2, len(brands))):
                    n += 1
                    price = money(rng.randint(low, high))
                    ref = money(price * Decimal(rng.choice(["1.00", "1.03", "1.05", "1.08", "1.12"])))
                    model = f"{prefix}{rng.randint(100, 999)}{rng.choice('ABCDEFGH')}"
                    values = attrs()
                    cat_name = CATS[leaf]["name"]
                    status = "listed"
                    if n % 17 == 0:
                        status = "draft"
                    elif n % 19 == 0:
                        status = "review"
                    elif n % 23 == 0:
                        status = "delisted"
                    rec = {"id": f"lst_{n}", "supplier_id:ref": sup, "category_id:ref": f"ecat_{leaf}",
                           "name": f"{brand}{name}", "brand": brand, "model": model,
                           "brand_key": normalize(brand), "model_key": normalize(model),
                           "description": f"{brand}{name} {model}，原厂正品，全国联保。",
                           "attributes": json.dumps(values, ensure_ascii=False), "unit": "台" if leaf != "A020210-01" else "箱",
                           "price": price, "reference_price": ref,
                           "reference_source": rng.choice(["manufacturer", "market"]),
                           "stock": rng.randint(20, 400), "cold_chain": "false", "exclusive_model": "false",
                           "status": status,
                           "search_text": "|".join(normalize(p) for p in [f"{brand}{name}", brand, model, cat_name,
                                                                        *(v for v in values.values() if v not in ("true", "false"))] if p),
                           "created_at": ts(AS_OF - dt.timedelta(days=150)),
                           "updated_at": ts(AS_OF - dt.timedelta(days=150)),
                           "listed_at": ts(AS_OF - dt.timedelta(days=148)) if status in ("listed", "delisted") else None,
                           "review_note": "型号参数与厂商官网不一致，已下架" if status == "delisted" else None}
                    listings.append(rec)
                    for rc in (["220000"] if n % 3 else [region]):
                        regions.append({"id": f"lreg_{n}_{rc}", "listing_id:ref": f"lst_{n}",
                                        "region_id:ref": f"core.region_{rc}"})
                    if status == "listed":
                        by_supplier_leaf.setdefault((sup, leaf), []).append(rec)
    # a reference price lowered after listing: the price monitor flags it
    flagged = next(r for r in listings if r["status"] == "listed" and r["reference_price"] > r["price"] * Decimal("1.04"))
    flagged["reference_price"] = money(flagged["price"] * Decimal("0.95"))

    # orders --------------------------------------------------------------------------------
    orders, lines, accs, contracts, payments = [], [], [], [], []
    listed = [r for r in listings if r["status"] == "listed"]
    sup_region = {s: reg for s, (reg, _c) in SUPPLIERS.items()}
    o = 0
    for city, purchasers in (("220100", [p for p, r in PURCHASERS.items() if r.startswith("2201")]),
                             ("220200", [p for p, r in PURCHASERS.items() if r.startswith("2202")])):
        for k, state in enumerate(ORDER_STATES * 2):
            o += 1
            pur = purchasers[k % len(purchasers)]
            region = PURCHASERS[pur]
            # alternate between suppliers of both cities so that several suppliers have orders
            pool = [r for r in listed if (sup_region[r["supplier_id:ref"]] == city) == (k % 2 == 0)
                    and r["price"] <= 20000]
            first = pool[(o * 7) % len(pool)]
            sup = first["supplier_id:ref"]
            own = [r for r in pool if r["supplier_id:ref"] == sup]
            chosen = [first] + ([own[(o * 3) % len(own)]] if len(own) > 1 and o % 2 else [])
            chosen = list({c["id"]: c for c in chosen}.values())
            placed = AS_OF - dt.timedelta(days=5 + (k * 11) % 150)
            number = f"DM{region}{placed:%Y%m%d}{o:08X}"
            total = Decimal("0.00")
            for m, lst in enumerate(chosen, start=1):
                qty = rng.randint(1, 5) if lst["price"] > 1000 else rng.randint(5, 30)
                qty = max(1, min(qty, int(Decimal("24000") / lst["price"])))  # direct: <= 50,000
                unit = lst["price"]
                if o == 9 and m == 1:  # a price outlier among its category's orders
                    unit = money(unit * Decimal("1.00"))
                amount = money(unit * qty)
                total += amount
                lines.append({"id": f"ol_{o}_{m}", "order_id:ref": f"ord_{o}", "listing_id:ref": lst["id"],
                              "category_id:ref": lst["category_id:ref"], "supplier_id:ref": sup,
                              "purchaser_id:ref": pur, "name": lst["name"], "brand": lst["brand"],
                              "model": lst["model"], "unit": lst["unit"], "quantity": qty,
                              "unit_price": unit, "listed_price": lst["price"],
                              "reference_price": lst["reference_price"], "amount": amount, "cold_chain": "false",
                              "region_id:ref": f"core.region_{region}"})
            rec = {"id": f"ord_{o}", "number": number, "purchaser_id:ref": pur, "supplier_id:ref": sup,
                   "channel": "direct", "pricing": "listing", "amount": total, "status": state,
                   "delivery_address": "单位本部", "contact": "采购员", "phone": "0431-80000002",
                   "placed_at": ts(placed, 9), "region_id:ref": f"core.region_{region}"}
            reached = ORDER_STATES.index(state) if state not in ("cancelled", "disputed") else 0
            if state == "cancelled":
                rec["cancelled_at"] = ts(placed, 15)
            if state == "disputed":
                rec.update(confirmed_at=ts(placed + dt.timedelta(days=1)), shipped_at=ts(placed + dt.timedelta(days=2)),
                           tracking=f"SF{o:010d}", disputed_from="shipped")
            if reached >= 1:
                rec["confirmed_at"] = ts(placed + dt.timedelta(days=1))
            if reached >= 2:
                rec.update(shipped_at=ts(placed + dt.timedelta(days=2)), tracking=f"SF{o:010d}")
            if reached >= 3:
                rec["delivered_at"] = ts(placed + dt.timedelta(days=4))
            if reached >= 4:
                accepted = placed + dt.timedelta(days=5)
                rec["accepted_on"] = accepted.isoformat()
                rec["payment_due"] = add_working_days(accepted, 10).isoformat()
                rec["contract_id:ref"] = f"ct_{o}"
                accs.append({"id": f"acc_{o}", "order_id:ref": f"ord_{o}", "supplier_id:ref": sup,
                             "purchaser_id:ref": pur, "accepted_on": accepted.isoformat(),
                             "inspectors": "王明、李华", "quantity_ok": "true", "quality_ok": "true",
                             "note": "数量、规格、外观均符合订单要求", "recorded_by": "purchaser",
                             "region_id:ref": f"core.region_{region}"})
                contracts.append({"id": f"ct_{o}", "number": f"HT-{number}", "source": "emall",
                                  "order_ref": number, "purchaser_id:ref": pur, "supplier_id:ref": sup,
                                  "amount": total, "signed_date": placed.isoformat(), "sme_label": "none",
                                  "status": "completed" if state == "paid" else "performing",
                                  "region_id:ref": f"core.region_{region}"})
            if reached >= 5:
                paid = placed + dt.timedelta(days=12)
                rec.update(paid_on=paid.isoformat(), payment_ref=f"ZF{o:08d}")
                payments.append({"id": f"pay_{o}", "contract_id:ref": f"ct_{o}", "paid_date": paid.isoformat(),
                                 "amount": total, "reference": f"ZF{o:08d}",
                                 "region_id:ref": f"core.region_{region}"})
            orders.append(rec)

    # price comparisons and quotes ------------------------------------------------------------------
    comps, quotes = [], []
    c = 0
    for pur in ("base.pur_cc_school", "base.pur_jl_hospital"):
        region = PURCHASERS[pur]
        for status in ("open", "closed", "awarded", "failed"):
            c += 1
            leaf = "A02010105" if c % 2 else "A02010108"
            cands = [r for r in listed if r["category_id:ref"] == f"ecat_{leaf}"]
            need = cands[c % len(cands)]
            qty = 20 if leaf == "A02010105" else 12
            budget = money(need["price"] * qty)
            published = AS_OF - dt.timedelta(days=2 if status == "open" else 20 + c)
            deadline = dt.datetime.combine(add_working_days(published, 3), dt.time(17, 0))
            if status == "open":
                deadline = dt.datetime.combine(AS_OF + dt.timedelta(days=40), dt.time(17, 0))
            comps.append({"id": f"cmp_{c}", "number": f"JJ{region}{published:%Y%m%d}{c:08X}",
                          "title": f"{need['name']}等 {qty} 台（竞价）", "purchaser_id:ref": pur,
                          "lines": json.dumps([{"line": 1, "listing_id": None, "category_id": None, "category_code": leaf,
                                                "name": need["name"], "brand": need["brand"], "model": need["model"],
                                                "quantity": qty, "unit": "台", "ceiling_price": str(need["price"])}],
                                              ensure_ascii=False),
                          "budget": budget, "delivery_address": "单位本部", "published_at": ts(published),
                          "quote_deadline": deadline.isoformat(), "status": status,
                          "decision_note": {"awarded": "有效报价 3 家，由最低报价成交",
                                            "failed": "报价截止时无有效报价，竞价失败"}.get(status),
                          "region_id:ref": f"core.region_{region}"})
            if status in ("failed", "closed"):
                continue  # closed: nobody quoted in time (awarding it records the failure)
            quoting = sorted({r["supplier_id:ref"] for r in cands})[:3]
            for q, sup in enumerate(quoting, start=1):
                own = next(r for r in cands if r["supplier_id:ref"] == sup)
                unit = min(own["price"], need["price"]) - money(q * 37)
                quotes.append({"id": f"qt_{c}_{q}", "comparison_id:ref": f"cmp_{c}", "supplier_id:ref": sup,
                               "lines": json.dumps([{"line": 1, "listing_id": None, "listing": own["id"],
                                                     "unit_price": str(unit)}], ensure_ascii=False),
                               "total": money(unit * qty), "status": "submitted" if status != "awarded" else
                               ("won" if q == len(quoting) else "lost"),
                               "submitted_at": ts(published + dt.timedelta(days=1), 9 + q),
                               "region_id:ref": f"core.region_{region}"})

    alerts = [{"id": "alert_ref", "kind": "above_reference", "listing_id:ref": flagged["id"], "order_line_id": 0,
               "category_id:ref": flagged["category_id:ref"], "supplier_id:ref": flagged["supplier_id:ref"],
               "price": flagged["price"], "reference_price": flagged["reference_price"],
               "detail": f"挂网价格 ¥{flagged['price']:,} 高于参考价 ¥{flagged['reference_price']:,}",
               "status": "open", "detected_at": ts(AS_OF, 2)}]

    write("emall_admission.csv", ["id", "supplier_id:ref", "status", "answers", "contact", "phone", "applied_at",
                                  "decided_at", "decided_by", "reason", "suspended_until"], admissions)
    write("emall_admission_category.csv", ["id", "admission_id:ref", "category_id:ref"], adm_cats)
    write("emall_listing.csv", ["id", "supplier_id:ref", "category_id:ref", "name", "brand", "model", "brand_key",
                                "model_key", "description", "attributes", "unit", "price", "reference_price",
                                "reference_source", "stock", "cold_chain", "exclusive_model", "status",
                                "search_text", "created_at", "updated_at", "listed_at", "review_note"], listings)
    write("emall_listing_region.csv", ["id", "listing_id:ref", "region_id:ref"], regions)
    write("pb_contract.emall.csv", ["id", "number", "source", "order_ref", "purchaser_id:ref", "supplier_id:ref",
                                    "amount", "signed_date", "sme_label", "status", "region_id:ref"], contracts)
    write("emall_order.csv", ["id", "number", "purchaser_id:ref", "supplier_id:ref", "channel", "pricing", "amount",
                              "status", "delivery_address", "contact", "phone", "placed_at", "confirmed_at",
                              "shipped_at", "tracking", "delivered_at", "accepted_on", "payment_due", "paid_on",
                              "payment_ref", "cancelled_at", "disputed_from", "contract_id:ref", "region_id:ref"],
          orders)
    write("emall_order_line.csv", ["id", "order_id:ref", "listing_id:ref", "category_id:ref", "supplier_id:ref",
                                   "purchaser_id:ref", "name", "brand", "model", "unit", "quantity", "unit_price",
                                   "listed_price", "reference_price", "amount", "cold_chain", "region_id:ref"], lines)
    write("emall_acceptance.csv", ["id", "order_id:ref", "supplier_id:ref", "purchaser_id:ref", "accepted_on",
                                   "inspectors", "quantity_ok", "quality_ok", "note", "recorded_by",
                                   "region_id:ref"], accs)
    # ratings of the paid orders (the accepted ones wait for their purchaser's rating)
    comments = ["送货及时，安装调试到位", "质量合格，售后响应快", "包装完好，按期交货", "服务周到，发票开具及时"]
    ratings = [{"id": f"rating_{o['id']}", "order_id:ref": o["id"], "supplier_id:ref": o["supplier_id:ref"],
                "purchaser_id:ref": o["purchaser_id:ref"], "delivery": 5 - i % 2, "quality": 5 - i % 3 // 2,
                "service": 4 + i % 2, "comment": comments[i % len(comments)],
                "rated_at": f"{o['paid_on']}T16:00:00", "rated_by": "采购员", "region_id:ref": o["region_id:ref"]}
               for i, o in enumerate(x for x in orders if x["status"] == "paid")]
    write("emall_rating.csv", ["id", "order_id:ref", "supplier_id:ref", "purchaser_id:ref", "delivery", "quality",
                               "service", "comment", "rated_at", "rated_by", "region_id:ref"], ratings)
    write("pb_payment.emall.csv", ["id", "contract_id:ref", "paid_date", "amount", "reference", "region_id:ref"],
          payments)
    write("emall_comparison.csv", ["id", "number", "title", "purchaser_id:ref", "lines", "budget",
                                   "delivery_address", "published_at", "quote_deadline", "status", "decision_note",
                                   "region_id:ref"], comps)
    write("emall_quote.csv", ["id", "comparison_id:ref", "supplier_id:ref", "lines", "total", "status",
                              "submitted_at", "region_id:ref"], quotes)
    write("emall_price_alert.csv", ["id", "kind", "listing_id:ref", "order_line_id", "category_id:ref",
                                    "supplier_id:ref", "price", "reference_price", "detail", "status",
                                    "detected_at"], alerts)
    print(f"admissions {len(admissions)}, listings {len(listings)}, orders {len(orders)}, lines {len(lines)}, "
          f"contracts {len(contracts)}, comparisons {len(comps)}, quotes {len(quotes)}")


if __name__ == "__main__":
    main()
