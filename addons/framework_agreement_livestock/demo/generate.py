"""Writes the demo CSVs of the livestock-pavilion framework agreement: 长春市畜牧业管理局 (a
competent budget unit, collecting party for items outside the centralized catalogue) ran a
closed agreement for foot-and-mouth vaccine; three suppliers responded under the 180 yuan
ceiling, two shortlisted (长春博康, the highest quote, eliminated). Run from the project root:
``.venv/bin/python addons/framework_agreement_livestock/demo/generate.py``."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
R = "core.region_220100"
files: dict[str, list[dict[str, str]]] = {}


def row(table: str, **values: str) -> None:
    files.setdefault(table, []).append(values)


row("fa_agreement", id="fa_vac", number="KJ220100-2026-012", name="长春市2026—2027年度口蹄疫疫苗框架协议",
    **{"collector_id:ref": "emall_livestock.cu_cc_livestock", "region_id:ref": R}, kind="goods", form="closed",
    open_reason="", subject="口蹄疫疫苗（强制免疫用）", demand="农业农村部批准的口蹄疫疫苗，有效期不少于 12 个月，"
    "全程冷链（2—8℃）配送至各县区动物疫病预防控制机构", evaluation="price", lab_instruments="false",
    methods="direct", shortlist_cap="", discount_tiers="", volume_discounts="", performance_area="长春市",
    performance_requirements="冷链配送，48 小时内送达", payment_terms="验收合格后 10 个工作日内付款",
    contract_template="框架协议采购合同（货物类）范本", term_start="2026-06-01", term_end="2027-05-31",
    response_deadline="2026-05-12T17:00:00", status="active", round="1", round_deadline="",
    published_on="2026-04-20", confirmed_on="2026-05-14", signed_on="2026-05-22", rotation_cycle="1",
    created_at="2026-04-16T09:00:00")
row("fa_agreement_region", id="fa_vac_r220100", **{"agreement_id:ref": "fa_vac", "region_id:ref": R})
row("fa_item", id="fa_vac_i1", **{"agreement_id:ref": "fa_vac", "category_id:ref": "emall_livestock.cat_a070505_01",
                                   "region_id:ref": R}, seq="1", name="口蹄疫疫苗", spec="见采购需求", unit="瓶",
    ceiling_price="180.00", est_quantity="20000", max_quantity="10000")
RESP = [("emall_livestock.sup_jl_kangmu", "emall_livestock.lst_0002", "88.87", "shortlisted", 1),
        ("emall_livestock.sup_cc_huamu", "emall_livestock.lst_0001", "100.05", "shortlisted", 2),
        ("procurement_base.sup_cc_bokang", "emall_livestock.lst_0003", "172.35", "eliminated", 3)]
for sup, lst, price, status, rank in RESP:
    key = f"fa_vac_resp{rank}"
    row("fa_response", id=key, **{"agreement_id:ref": "fa_vac", "supplier_id:ref": sup, "region_id:ref": R},
        round="1", status=status, evaluated_price=f"{Decimal(price) * 20000:.2f}", score="", rank=str(rank),
        note="", submitted_at=f"2026-05-0{rank + 5}T10:00:00")
    row("fa_response_line", id=f"{key}_l1", **{"response_id:ref": key, "item_id:ref": "fa_vac_i1",
                                               "supplier_id:ref": sup, "listing_id:ref": lst, "region_id:ref": R},
        unit_price=price, supply_quantity="10000")
    if status == "shortlisted":
        row("fa_member", id=f"fa_vac_m{rank}", **{"agreement_id:ref": "fa_vac", "supplier_id:ref": sup,
                                                  "region_id:ref": R}, rank=str(rank), rotation_position=str(rank),
            status="active", joined_on="2026-05-14", left_on="", removal_cause="", left_note="")
        row("fa_line", id=f"fa_vac_l{rank}", **{"agreement_id:ref": "fa_vac", "item_id:ref": "fa_vac_i1",
                                                "supplier_id:ref": sup, "listing_id:ref": lst, "region_id:ref": R},
            agreement_price=price, ceiling_price="180.00", cap_quantity="10000", ordered_quantity="0",
            ordered_amount="0.00", active="true")
row("fa_notice", id="fa_vac_n1", **{"agreement_id:ref": "fa_vac", "region_id:ref": R, "purchaser_id:ref": ""},
    kind="framework_shortlist", source_key="demo:fa_vac:shortlist",
    title="长春市2026—2027年度口蹄疫疫苗框架协议 入围结果公告",
    body="合格响应供应商 3 家，入围 2 家：\n1. 吉林市康牧动物保健品有限公司（88.87 元/瓶）\n2. 吉林华牧生物科技有限公司（100.05 元/瓶）",
    event_date="2026-05-14", due_date="2026-05-18", status="published", published_on="2026-05-15", hub_link="")

if __name__ == "__main__":
    for table, rows in files.items():
        fields = list(rows[0])
        with open(HERE / f"{table}.livestock.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            w.writerows(rows)
