"""Writes the framework-agreement demo CSVs (run from the project root:
``.venv/bin/python addons/framework_agreement/demo/generate.py``).

The story (dates fixed; the agreements run until 2027-08-31 and 2028-02-29):

* 吉林省政府采购中心 ran a **closed goods agreement for office desktops** (封闭式, price
  priority, 21-day response period). Four suppliers responded under the 5,800 yuan ceiling;
  three were shortlisted (elimination 1 of 4 = 25%), 吉林康健 (the highest quote) eliminated.
  Call-offs: 长春市第一中学 bought 10 by direct selection (volume tiers 10:0.5%, 50:2%: 5,323.25
  instead of 5,350); 长春市中心医院 ran a second
  competition for 20 (all three invited, 长春智远 won at 5,260; its deal notice waits to be
  published); 吉林市中心医院's second competition for 8 is open (bids due 2026-12-21);
  吉林市第一中学 bought 5 from 吉林市雾凇 below its agreement price.
* 长春市政府采购中心 runs an **open services agreement for vehicle maintenance** (开放式: the
  suppliers' number cannot be fixed in advance; 24 months), awarded by **rotation**: three
  maintenance firms in the published order; 长春市公安局交通警察支队 has used it twice
  (cycle 1: positions 1 and 2); a fourth firm applied to join and waits for review.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
files: dict[str, list[dict[str, object]]] = {}


def row(table: str, **values: object) -> None:
    files.setdefault(table, []).append(values)


def money(v: str | Decimal) -> str:
    return f"{Decimal(v):.2f}"


# -- the closed goods agreement: office desktops -------------------------------------------------
row("fa_agreement", id="fa_pc", number="KJ220000-2026-001", name="吉林省2026—2027年度办公台式计算机框架协议",
    **{"collector_id:ref": "base.agency_prov", "region_id:ref": "core.region_220000"}, kind="goods", form="closed",
    open_reason="", subject="办公用台式计算机（通用型）",
    demand="国产 CPU 不低于 6 核，内存不低于 16GB，固态硬盘不低于 512GB，23.8 英寸显示器，"
           "预装正版操作系统，三年原厂上门保修，48 小时内到货安装。",
    evaluation="price", lab_instruments="false", methods="direct,competition", shortlist_cap="",
    discount_tiers="10:0.5;50:2", volume_discounts="量大优惠按阶梯在协议价格基础上自动扣减", performance_area="长春市、吉林市",
    performance_requirements="送货上门并安装调试，故障 24 小时内响应", payment_terms="验收合格后 10 个工作日内付款",
    contract_template="框架协议采购合同（货物类）范本", term_start="2026-09-01", term_end="2027-08-31",
    response_deadline="2026-08-10T17:00:00", status="active", round="1", round_deadline="",
    published_on="2026-07-20", confirmed_on="2026-08-12", signed_on="2026-08-20", rotation_cycle="1",
    created_at="2026-07-15T09:00:00")
for code in ("220100", "220200"):
    row("fa_agreement_region", id=f"fa_pc_r{code}", **{"agreement_id:ref": "fa_pc", "region_id:ref": f"core.region_{code}"})
row("fa_item", id="fa_pc_i1", **{"agreement_id:ref": "fa_pc", "category_id:ref": "emall.ecat_A02010105",
                                  "region_id:ref": "core.region_220000"}, seq="1", name="台式计算机（通用型）",
    spec="见采购需求", unit="台", ceiling_price="5800.00", est_quantity="600", max_quantity="200")
PC = [  # supplier, listing, quote, status, rank
    ("base.sup_cc_tech", "emall.lst_1", "5350.00", "shortlisted", 1),
    ("procurement_base.sup_cc_zhiyuan", "emall.lst_31", "5420.00", "shortlisted", 2),
    ("procurement_base.sup_jl_wusong", "emall.lst_55", "5480.00", "shortlisted", 3),
    ("base.sup_jl_med", "emall.lst_17", "5690.00", "eliminated", 4),
]
ORDERED = {1: (10, "53232.50"), 2: (20, "105200.00"), 3: (5, "27250.00")}
for sup, lst, price, status, rank in PC:
    key = f"fa_pc_resp{rank}"
    row("fa_response", id=key, **{"agreement_id:ref": "fa_pc", "supplier_id:ref": sup,
                                  "region_id:ref": "core.region_220000"}, round="1", status=status,
        evaluated_price=money(Decimal(price) * 600), score="", rank=str(rank), note="",
        submitted_at=f"2026-08-0{rank + 1}T10:00:00")
    row("fa_response_line", id=f"{key}_l1", **{"response_id:ref": key, "item_id:ref": "fa_pc_i1", "supplier_id:ref": sup,
                                               "listing_id:ref": lst, "region_id:ref": "core.region_220000"},
        unit_price=price, supply_quantity="200")
    if status == "shortlisted":
        row("fa_member", id=f"fa_pc_m{rank}", **{"agreement_id:ref": "fa_pc", "supplier_id:ref": sup,
                                                 "region_id:ref": "core.region_220000"},
            rank=str(rank), rotation_position=str(rank), status="active", joined_on="2026-08-12", left_on="",
            removal_cause="", left_note="")
        qty, amount = ORDERED[rank]
        row("fa_line", id=f"fa_pc_l{rank}", **{"agreement_id:ref": "fa_pc", "item_id:ref": "fa_pc_i1",
                                               "supplier_id:ref": sup, "listing_id:ref": lst,
                                               "region_id:ref": "core.region_220000"},
            agreement_price=price, ceiling_price="5800.00", cap_quantity="200", ordered_quantity=str(qty),
            ordered_amount=amount, active="true")

LISTING = {1: ("emall.lst_1", "联想台式计算机", "联想", "DT557E", "6173.00", "5864.35"),
           2: ("emall.lst_31", "联想台式计算机", "联想", "DT31", "5900.00", "5900.00"),
           3: ("emall.lst_55", "同方台式计算机", "同方", "DT55", "5900.00", "5900.00")}


def order(key: str, number: str, purchaser: str, supplier: str, rank: int, qty: int, unit: str, status: str,
          region: str, placed: str, confirmed: str = "", source: str = "KJ220000-2026-001") -> None:
    amount = money(Decimal(unit) * qty)
    row("emall_order", id=key, number=number, **{"purchaser_id:ref": purchaser, "supplier_id:ref": supplier},
        channel="framework", pricing="framework", source_ref=source, amount=amount, status=status,
        delivery_address="单位本部", contact="采购员", phone="0431-80000002", placed_at=placed,
        confirmed_at=confirmed, **{"region_id:ref": region})
    lst, name, brand, model, listed, ref = LISTING[rank]
    row("emall_order_line", id=f"{key}_l1", **{"order_id:ref": key, "listing_id:ref": lst,
                                               "category_id:ref": "emall.ecat_A02010105", "supplier_id:ref": supplier,
                                               "purchaser_id:ref": purchaser, "region_id:ref": region},
        name=name, brand=brand, model=model, unit="台", quantity=str(qty), unit_price=unit, listed_price=listed,
        reference_price=ref, amount=amount, cold_chain="false")


# 1. direct selection: 长春市第一中学, 10 desktops from 长春华信: the agreement price 5,350 less the
#    volume discount of the 10-unit tier (0.5%) = 5,323.25
order("fa_ord_1", "DM2201022026101500000101", "base.pur_cc_school", "base.sup_cc_tech", 1, 10, "5323.25",
      "confirmed", "core.region_220102", "2026-10-15T09:30:00", "2026-10-15T14:00:00")
row("fa_calloff", id="fa_co_1", number="KX2201022026101500000001", **{
    "agreement_id:ref": "fa_pc", "agreement_name": "吉林省2026—2027年度办公台式计算机框架协议",
    "item_id:ref": "fa_pc_i1", "item_name": "台式计算机（通用型）", "purchaser_id:ref": "base.pur_cc_school",
    "supplier_id:ref": "base.sup_cc_tech", "line_id:ref": "fa_pc_l1", "order_id:ref": "fa_ord_1",
    "region_id:ref": "core.region_220102"}, method="direct", quantity="10", status="ordered", unit_price="5323.25",
    agreement_price="5350.00", discount_percent="0.50", amount="53232.50", bid_deadline="", rotation_cycle="",
    released="false", created_at="2026-10-15T09:30:00",
    awarded_on="2026-10-15", note="新建计算机教室")
# 2. second competition: 长春市中心医院, 20 desktops, all three invited, 长春智远 lowest
order("fa_ord_2", "DM2201042026120300000102", "procurement_base.pur_cc_hospital", "procurement_base.sup_cc_zhiyuan",
      2, 20, "5260.00", "placed", "core.region_220104", "2026-12-03T10:00:00")
row("fa_calloff", id="fa_co_2", number="KX2201042026113000000002", **{
    "agreement_id:ref": "fa_pc", "agreement_name": "吉林省2026—2027年度办公台式计算机框架协议",
    "item_id:ref": "fa_pc_i1", "item_name": "台式计算机（通用型）", "purchaser_id:ref": "procurement_base.pur_cc_hospital",
    "supplier_id:ref": "procurement_base.sup_cc_zhiyuan", "line_id:ref": "fa_pc_l2", "order_id:ref": "fa_ord_2",
    "region_id:ref": "core.region_220104"}, method="competition", quantity="20", status="ordered",
    unit_price="5260.00", agreement_price="5420.00", discount_percent="0.50", amount="105200.00",
    bid_deadline="2026-12-02T17:00:00", rotation_cycle="",
    released="false", created_at="2026-11-30T09:00:00", awarded_on="2026-12-03", note="门诊工作站更新")
for rank, price in ((1, "5300.00"), (2, "5260.00"), (3, "5330.00")):
    sup = PC[rank - 1][0]
    row("fa_bid", id=f"fa_co_2_b{rank}", **{"calloff_id:ref": "fa_co_2", "supplier_id:ref": sup,
                                            "line_id:ref": f"fa_pc_l{rank}", "region_id:ref": "core.region_220104"},
        unit_price=price, submitted_at=f"2026-12-0{rank}T11:00:00")
# 3. an open second competition in 吉林市 (suppliers still to bid)
row("fa_calloff", id="fa_co_3", number="KX2202022026120300000003", **{
    "agreement_id:ref": "fa_pc", "agreement_name": "吉林省2026—2027年度办公台式计算机框架协议",
    "item_id:ref": "fa_pc_i1", "item_name": "台式计算机（通用型）", "purchaser_id:ref": "base.pur_jl_hospital",
    "supplier_id:ref": "", "line_id:ref": "", "order_id:ref": "", "region_id:ref": "core.region_220202"},
    method="competition", quantity="8", status="competing", unit_price="", agreement_price="", discount_percent="",
    amount="",
    bid_deadline="2026-12-21T17:00:00", rotation_cycle="", released="false", created_at="2026-12-03T09:00:00",
    awarded_on="", note="住院部护士站")
for rank in (1, 2, 3):
    row("fa_bid", id=f"fa_co_3_b{rank}", **{"calloff_id:ref": "fa_co_3", "supplier_id:ref": PC[rank - 1][0],
                                            "line_id:ref": f"fa_pc_l{rank}", "region_id:ref": "core.region_220202"},
        unit_price="", submitted_at="")
# 4. direct selection below the agreement price: 吉林市第一中学, 5 from 吉林市雾凇 at 5,450
order("fa_ord_3", "DM2202042026110200000103", "procurement_base.pur_jl_no1", "procurement_base.sup_jl_wusong", 3, 5,
      "5450.00", "confirmed", "core.region_220204", "2026-11-02T09:00:00", "2026-11-02T15:00:00")
row("fa_calloff", id="fa_co_4", number="KX2202042026110200000004", **{
    "agreement_id:ref": "fa_pc", "agreement_name": "吉林省2026—2027年度办公台式计算机框架协议",
    "item_id:ref": "fa_pc_i1", "item_name": "台式计算机（通用型）", "purchaser_id:ref": "procurement_base.pur_jl_no1",
    "supplier_id:ref": "procurement_base.sup_jl_wusong", "line_id:ref": "fa_pc_l3", "order_id:ref": "fa_ord_3",
    "region_id:ref": "core.region_220204"}, method="direct", quantity="5", status="ordered", unit_price="5450.00",
    agreement_price="5480.00", discount_percent="0", amount="27250.00", bid_deadline="", rotation_cycle="", released="false", created_at="2026-11-02T09:00:00",
    awarded_on="2026-11-02", note="供应商让利 30 元/台")

row("fa_notice", id="fa_pc_n1", **{"agreement_id:ref": "fa_pc", "region_id:ref": "core.region_220000",
                                   "purchaser_id:ref": ""}, kind="framework_solicitation", source_key="demo:fa_pc:1",
    title="吉林省2026—2027年度办公台式计算机框架协议 征集公告",
    body="征集人：吉林省政府采购中心\n框架协议形式：封闭式\n最高限制单价：5,800.00 元/台\n响应截止时间：2026-08-10 17:00",
    event_date="2026-07-20", due_date="", status="published", published_on="2026-07-20", hub_link="")
row("fa_notice", id="fa_pc_n2", **{"agreement_id:ref": "fa_pc", "region_id:ref": "core.region_220000",
                                   "purchaser_id:ref": ""}, kind="framework_shortlist", source_key="demo:fa_pc:shortlist",
    title="吉林省2026—2027年度办公台式计算机框架协议 入围结果公告",
    body="合格响应供应商 4 家，入围 3 家：\n1. 长春华信科技有限公司 5,350.00 元\n2. 长春智远信息技术股份有限公司 "
         "5,420.00 元\n3. 吉林市雾凇信息技术有限公司 5,480.00 元",
    event_date="2026-08-12", due_date="2026-08-14", status="published", published_on="2026-08-13", hub_link="")
row("fa_notice", id="fa_pc_n3", **{"agreement_id:ref": "fa_pc", "region_id:ref": "core.region_220104",
                                   "purchaser_id:ref": "procurement_base.pur_cc_hospital"}, kind="framework_deal",
    source_key="demo:fa_co_2", title="吉林省2026—2027年度办公台式计算机框架协议 成交结果公告（KX2201042026113000000002）",
    body="采购人：长春市中心医院\n成交方式：二次竞价\n成交供应商：长春智远信息技术股份有限公司\n"
         "台式计算机 20 台，成交单价 5,260.00 元，成交金额 105,200.00 元",
    event_date="2026-12-03", due_date="2026-12-07", status="draft", published_on="", hub_link="")

# -- the open services agreement: vehicle maintenance by rotation --------------------------------
row("emall_category", id="fa_ecat_C2312", code="C23120300", name="车辆维修和保养服务", **{"parent_id:ref": "",
    "pb_catalog_id:ref": ""}, pavilion="", attributes="[]", requires_cold_chain="false", sequence="900", active="true")
CAR = [("procurement_base.sup_cc_hongda", "宏达车辆保养服务", "宏达", "BY-1", "760.00"),
       ("procurement_base.sup_jl_jiangbei", "江北专用车辆保养服务", "江北", "JB-1", "780.00"),
       ("procurement_base.sup_sp_dongfang", "东方机电车辆保养服务", "东方", "DF-1", "790.00"),
       ("procurement_base.sup_cc_anda", "安达车辆保养服务", "安达", "AD-1", "770.00")]
row("fa_agreement", id="fa_car", number="KJ220100-2026-007", name="长春市2026—2028年度公务车辆维修保养框架协议",
    **{"collector_id:ref": "procurement_base.agency_cc_center", "region_id:ref": "core.region_220100"},
    kind="services", form="open",
    open_reason="车辆维修保养服务的供应商数量不能事先确定、需要随时加入（财政部令第110号第三十六条所列情形）",
    subject="公务车辆常规保养服务", demand="小型客车常规保养（机油、机滤、空滤及 36 项检查），预约后 24 小时内完成，"
    "提供代步车或上门取送车", evaluation="price", lab_instruments="false", methods="rotation", shortlist_cap="",
    discount_tiers="", volume_discounts="", performance_area="长春市", performance_requirements="维修点位于长春市区，持二类以上维修资质",
    payment_terms="每次服务完成验收后 10 个工作日内付款", contract_template="框架协议采购合同（服务类）范本",
    term_start="2026-03-01", term_end="2028-02-29", response_deadline="2026-02-20T17:00:00", status="active", round="1",
    round_deadline="", published_on="2026-01-30", confirmed_on="2026-02-24", signed_on="2026-02-27",
    rotation_cycle="1", created_at="2026-01-28T09:00:00")
row("fa_agreement_region", id="fa_car_r220100", **{"agreement_id:ref": "fa_car", "region_id:ref": "core.region_220100"})
row("fa_item", id="fa_car_i1", **{"agreement_id:ref": "fa_car", "category_id:ref": "fa_ecat_C2312",
                                   "region_id:ref": "core.region_220100"}, seq="1", name="小型客车常规保养",
    spec="见采购需求", unit="次", ceiling_price="800.00", est_quantity="400", max_quantity="150")
for n, (sup, name, brand, model, price) in enumerate(CAR, start=1):
    row("emall_listing", id=f"fa_lst_car{n}", **{"supplier_id:ref": sup, "category_id:ref": "fa_ecat_C2312"},
        pavilion="", name=name, brand=brand, model=model, brand_key=brand, model_key=model.lower(),
        description=f"{name}（小型客车常规保养）", attributes="{}", unit="次", price=price, reference_price=price,
        reference_source="market", stock="1000", cold_chain="false", exclusive_model="false", status="listed",
        search_text=f"{name}|{brand}|{model.lower()}|车辆维修和保养服务", created_at="2026-02-01T10:00:00",
        updated_at="2026-02-01T10:00:00", listed_at="2026-02-02T10:00:00", review_note="")
    row("emall_listing_region", id=f"fa_lreg_car{n}", **{"listing_id:ref": f"fa_lst_car{n}",
                                                         "region_id:ref": "core.region_220100"})
    key = f"fa_car_resp{n}"
    joining = n == 4
    row("fa_response", id=key, **{"agreement_id:ref": "fa_car", "supplier_id:ref": sup,
                                  "region_id:ref": "core.region_220100"}, round="0" if joining else "1",
        status="applied" if joining else "shortlisted", evaluated_price=money(Decimal(price) * 400), score="",
        rank="" if joining else str(n), note="申请加入开放式框架协议" if joining else "",
        submitted_at="2026-12-02T10:00:00" if joining else f"2026-02-1{n}T10:00:00")
    row("fa_response_line", id=f"{key}_l1", **{"response_id:ref": key, "item_id:ref": "fa_car_i1", "supplier_id:ref": sup,
                                               "listing_id:ref": f"fa_lst_car{n}", "region_id:ref": "core.region_220100"},
        unit_price=price, supply_quantity="150")
    if not joining:
        row("fa_member", id=f"fa_car_m{n}", **{"agreement_id:ref": "fa_car", "supplier_id:ref": sup,
                                               "region_id:ref": "core.region_220100"}, rank=str(n),
            rotation_position=str(n), status="active", joined_on="2026-02-24", left_on="", removal_cause="",
            left_note="")
        used = 1 if n <= 2 else 0
        row("fa_line", id=f"fa_car_l{n}", **{"agreement_id:ref": "fa_car", "item_id:ref": "fa_car_i1",
                                             "supplier_id:ref": sup, "listing_id:ref": f"fa_lst_car{n}",
                                             "region_id:ref": "core.region_220100"},
            agreement_price=price, ceiling_price="800.00", cap_quantity="150", ordered_quantity=str(used),
            ordered_amount=money(Decimal(price) * used), active="true")
for n in (1, 2):
    sup, name, brand, model, price = CAR[n - 1]
    key = f"fa_ord_car{n}"
    row("emall_order", id=key, number=f"DM220100202611{n:02d}00000{200 + n}", **{
        "purchaser_id:ref": "procurement_base.pur_cc_traffic", "supplier_id:ref": sup}, channel="framework",
        pricing="framework", source_ref="KJ220100-2026-007", amount=price, status="confirmed",
        delivery_address="长春市公安局交通警察支队车队", contact="车队队长", phone="0431-80000010",
        placed_at=f"2026-11-{n + 9:02d}T09:00:00", confirmed_at=f"2026-11-{n + 9:02d}T11:00:00",
        **{"region_id:ref": "core.region_220100"})
    row("emall_order_line", id=f"{key}_l1", **{"order_id:ref": key, "listing_id:ref": f"fa_lst_car{n}",
                                               "category_id:ref": "fa_ecat_C2312", "supplier_id:ref": sup,
                                               "purchaser_id:ref": "procurement_base.pur_cc_traffic",
                                               "region_id:ref": "core.region_220100"},
        name=name, brand=brand, model=model, unit="次", quantity="1", unit_price=price, listed_price=price,
        reference_price=price, amount=price, cold_chain="false")
    row("fa_calloff", id=f"fa_co_car{n}", number=f"KX220100202611{n:02d}0000{n:04d}", **{
        "agreement_id:ref": "fa_car", "agreement_name": "长春市2026—2028年度公务车辆维修保养框架协议",
        "item_id:ref": "fa_car_i1", "item_name": "小型客车常规保养", "purchaser_id:ref": "procurement_base.pur_cc_traffic",
        "supplier_id:ref": sup, "line_id:ref": f"fa_car_l{n}", "order_id:ref": key,
        "region_id:ref": "core.region_220100"}, method="rotation", quantity="1", status="ordered", unit_price=price,
        agreement_price=price, discount_percent="0", amount=price, bid_deadline="", rotation_cycle="1", released="false",
        created_at=f"2026-11-{n + 9:02d}T09:00:00", awarded_on=f"2026-11-{n + 9:02d}", note="执勤车辆定期保养")
    row("fa_notice", id=f"fa_car_n{n}", **{"agreement_id:ref": "fa_car", "region_id:ref": "core.region_220100",
                                           "purchaser_id:ref": "procurement_base.pur_cc_traffic"},
        kind="framework_deal", source_key=f"demo:fa_co_car{n}",
        title=f"长春市2026—2028年度公务车辆维修保养框架协议 成交结果公告（顺序轮候第 {n} 位）",
        body=f"采购人：长春市公安局交通警察支队\n成交方式：顺序轮候\n成交供应商：{name}\n成交金额 {price} 元",
        event_date=f"2026-11-{n + 9:02d}", due_date=f"2026-11-{n + 11:02d}", status="published",
        published_on=f"2026-11-{n + 10:02d}", hub_link="")

# -- 吉林市: a closed copy-paper agreement, shortlist confirmed, waiting for signature ------------
J = "core.region_220200"
row("fa_agreement", id="fa_paper", number="KJ220200-2026-003", name="吉林市2027年度复印纸框架协议",
    **{"collector_id:ref": "procurement_base.agency_jl_center", "region_id:ref": J}, kind="goods", form="closed",
    open_reason="", subject="A4 复印纸", demand="A4 70g，500 张/包，5 包/箱，白度不低于 92%", evaluation="price",
    lab_instruments="false", methods="direct", shortlist_cap="", discount_tiers="", volume_discounts="", performance_area="吉林市",
    performance_requirements="送货上楼", payment_terms="验收合格后 10 个工作日内付款",
    contract_template="框架协议采购合同（货物类）范本", term_start="2027-01-01", term_end="2027-12-31",
    response_deadline="2026-12-01T17:00:00", status="evaluated", round="1", round_deadline="",
    published_on="2026-11-10", confirmed_on="2026-12-03", signed_on="", rotation_cycle="1",
    created_at="2026-11-06T09:00:00")
row("fa_agreement_region", id="fa_paper_r220200", **{"agreement_id:ref": "fa_paper", "region_id:ref": J})
row("fa_item", id="fa_paper_i1", **{"agreement_id:ref": "fa_paper", "category_id:ref": "emall.ecat_A020210-01",
                                     "region_id:ref": J}, seq="1", name="A4 复印纸", spec="见采购需求", unit="箱",
    ceiling_price="135.00", est_quantity="3000", max_quantity="2000")
PAPER = [("procurement_base.sup_cc_shenghua", "emall.lst_51", "110.00", "shortlisted", 1),
         ("base.sup_cc_tech", "emall.lst_15", "118.00", "shortlisted", 2),
         ("procurement_base.sup_jl_wusong", "emall.lst_70", "125.00", "eliminated", 3)]
for sup, lst, price, status, rank in PAPER:
    key = f"fa_paper_resp{rank}"
    row("fa_response", id=key, **{"agreement_id:ref": "fa_paper", "supplier_id:ref": sup, "region_id:ref": J},
        round="1", status=status, evaluated_price=money(Decimal(price) * 3000), score="", rank=str(rank), note="",
        submitted_at=f"2026-11-2{rank}T10:00:00")
    row("fa_response_line", id=f"{key}_l1", **{"response_id:ref": key, "item_id:ref": "fa_paper_i1",
                                               "supplier_id:ref": sup, "listing_id:ref": lst, "region_id:ref": J},
        unit_price=price, supply_quantity="2000")
    if status == "shortlisted":
        row("fa_member", id=f"fa_paper_m{rank}", **{"agreement_id:ref": "fa_paper", "supplier_id:ref": sup,
                                                    "region_id:ref": J}, rank=str(rank), rotation_position=str(rank),
            status="active", joined_on="2026-12-03", left_on="", removal_cause="", left_note="")
        row("fa_line", id=f"fa_paper_l{rank}", **{"agreement_id:ref": "fa_paper", "item_id:ref": "fa_paper_i1",
                                                  "supplier_id:ref": sup, "listing_id:ref": lst, "region_id:ref": J},
            agreement_price=price, ceiling_price="135.00", cap_quantity="2000", ordered_quantity="0",
            ordered_amount="0.00", active="true")
row("fa_notice", id="fa_paper_n1", **{"agreement_id:ref": "fa_paper", "region_id:ref": J, "purchaser_id:ref": ""},
    kind="framework_solicitation", source_key="demo:fa_paper:1", title="吉林市2027年度复印纸框架协议 征集公告",
    body="征集人：吉林市政府采购中心\n框架协议形式：封闭式\n最高限制单价：135.00 元/箱\n响应截止时间：2026-12-01 17:00",
    event_date="2026-11-10", due_date="", status="published", published_on="2026-11-10", hub_link="")
row("fa_notice", id="fa_paper_n2", **{"agreement_id:ref": "fa_paper", "region_id:ref": J, "purchaser_id:ref": ""},
    kind="framework_shortlist", source_key="demo:fa_paper:shortlist",
    title="吉林市2027年度复印纸框架协议 入围结果公告",
    body="合格响应供应商 3 家，入围 2 家：\n1. 吉林省盛华数码科技有限公司 110.00 元/箱\n2. 长春华信科技有限公司 118.00 元/箱",
    event_date="2026-12-03", due_date="2026-12-07", status="draft", published_on="", hub_link="")

# 协议外采购 (110号令): 长春市第一中学 found the same desktop 170 yuan cheaper and 长春华信 refused
# to match it; reported the next working day. 长春市中心医院 reported its own a day late (red).
# 吉林市第一中学 bought one the same way and reported it on time.
PC = "吉林省2026—2027年度办公台式计算机框架协议"
for key, pur, reg, sup, qty, price, bought, due, reported, late in (
        ("fa_out_1", "base.pur_cc_school", "core.region_220102", "长春市朝阳区鑫海电脑经销部", 3, "5180.00",
         "2026-11-20", "2026-11-23", "2026-11-23", "false"),
        ("fa_out_2", "procurement_base.pur_cc_hospital", "core.region_220104", "长春市南关区博远办公设备商行", 2,
         "5200.00", "2026-11-25", "2026-11-26", "2026-11-27", "true"),
        ("fa_out_3", "procurement_base.pur_jl_no1", "core.region_220204", "吉林市船营区恒信电脑商行", 1,
         "5260.00", "2026-11-30", "2026-12-01", "2026-12-01", "false")):
    row("fa_outside", id=key, **{"agreement_id:ref": "fa_pc", "line_id:ref": "fa_pc_l1", "purchaser_id:ref": pur,
                                 "region_id:ref": reg},
        agreement_name=PC, item_name="台式计算机（通用型）", shortlisted_name="长春华信科技有限公司",
        agreement_price="5350.00", outside_supplier=sup, outside_price=price, quantity=str(qty),
        amount=money(Decimal(price) * qty), proof=f"同型号同配置书面报价单，单价 {price} 元（含三年上门保修）",
        refusal=f"{bought} 书面询问入围供应商能否按 {price} 元供货，答复不能降价", purchase_date=bought,
        due_date=due, reported_on=reported, late=late, created_at=f"{reported}T10:00:00")

ORDER = ["emall_category.fa", "emall_listing.fa", "emall_listing_region.fa", "fa_agreement", "fa_agreement_region",
         "fa_item", "fa_response", "fa_response_line", "fa_member", "fa_line", "emall_order.fa", "emall_order_line.fa",
         "fa_calloff", "fa_bid", "fa_notice", "fa_outside"]

if __name__ == "__main__":
    for name in ORDER:
        table = name.split(".")[0]
        rows = files[table]
        fields: list[str] = []
        for r in rows:
            for k in r:
                if k not in fields:
                    fields.append(k)
        with open(HERE / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            for r in rows:
                w.writerow({k: r.get(k, "") for k in fields})
    print("demo:", ", ".join(f"demo/{n}.csv" for n in ORDER))
