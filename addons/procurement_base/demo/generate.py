"""Writes the demo CSVs of ``procurement_base``: a Jilin procurement year (2025).

Run from anywhere (stdlib only, plus ``core.services.credit_code``)::

    .venv/bin/python addons/procurement_base/demo/generate.py

The output is deterministic (seeded random): running it again rewrites identical files.
The scenario as of :data:`AS_OF`:

* organisations in 长春市 (city level, 南关区, 朝阳区 and other districts), 吉林市 and
  延边州: competent budget units with their purchasers, centralized procurement
  institutions and agencies, suppliers of every size (valid, unique credit codes whose
  3rd-8th characters are the organisation's region code). Banks and the insurer are
  base's (``base.bank_boc``, ``base.bank_jlb``, ``base.ins_picc``), not duplicated;
* projects in every status of ``PROJECT_STATES`` and six procurement methods, with
  packages, bids, contracts, payment plans and payments whose dates and amounts follow
  the rules the test checks (``tests/addons/procurement_base/test_demo.py``).

Money is ``Decimal`` throughout, written with two decimals; never float.
"""

from __future__ import annotations

import ast
import csv
import datetime as dt
import random
import sys
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
try:
    from core.services.credit_code import CHARSET, make, validate
except ImportError:  # run as a script: the repository root is not on sys.path
    sys.path.insert(0, str(ROOT))
    from core.services.credit_code import CHARSET, make, validate

SEED = 20250301
AS_OF = dt.date(2025, 11, 28)  # the demo's "today"
CENT = Decimal("0.01")
rng = random.Random(SEED)

REGIONS = {
    row["code"]: row["name"]
    for row in csv.DictReader((ROOT / "core/data/erp_region.csv").open(encoding="utf-8-sig"))
}
CITY_OF = {"2201": "220100", "2202": "220200", "2203": "220300", "2205": "220500",
           "2207": "220700", "2224": "222400"}
AREA_CODE = {"220100": "0431", "220200": "0432", "220300": "0434", "220500": "0435",
             "220700": "0438", "222400": "0433"}
STREETS = {
    # city-level bodies: the district is part of the street
    "220100": ["南关区人民大街", "朝阳区南湖大路", "朝阳区西安大路", "南关区亚泰大街"],
    "220102": ["人民大街", "南湖大路", "亚泰大街", "自由大路"],
    "220103": ["长白路", "北京大街", "凯旋路"],
    "220104": ["红旗街", "西安大路", "湖西路", "前进大街"],
    "220105": ["东盛大街", "吉林大路", "远达大街"],
    "220106": ["景阳大路", "青年路", "普阳街"],
    "220112": ["双阳大街", "平湖大路"],
    "220113": ["新华大街", "卡伦湖大街"],
    "220122": ["黄龙路", "兴华街"],
    "220200": ["船营区解放中路", "船营区北京路", "昌邑区吉林大街"],
    "220202": ["解放东路", "重庆街", "吉林大街"],
    "220203": ["遵义东路", "湘潭街"],
    "220204": ["北京路", "光华路", "河南街"],
    "220211": ["吉林大街", "恒山西路"],
    "220221": ["永吉街", "口前大街"],
    "220302": ["英雄大街", "北迎宾街"],
    "220502": ["新华大街", "江南路"],
    "220702": ["锦江大街", "沿江东路"],
    "222400": ["延吉市友谊路", "延吉市人民路", "延吉市长白山西路"],
    "222401": ["人民路", "光明街", "长白山西路", "友谊路"],
    "222402": ["新华路", "长安路"],
    "222403": ["胜利街", "翰章大街"],
    "222404": ["河南街", "新安路"],
    "222405": ["安民街", "龙门街"],
}
SURNAMES = "王李张刘陈杨赵孙周吴徐马朱胡郭何高林罗金崔朴郑姜于"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰春雪松海波鹏宇浩然哲文博"


def money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def fmt(value: Decimal | None) -> str:
    return "" if value is None else f"{money(value):.2f}"


def share(amount: Decimal, permille: int) -> Decimal:
    """``amount * permille / 1000`` rounded down to fen."""
    return (amount * permille / 1000).quantize(CENT, rounding=ROUND_DOWN)


#: official holidays and make-up working days (调休) the demo dates respect:
#: 2025 (国办发明电〔2024〕12号) and the start of 2026
HOLIDAYS = {
    *(dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(1)),
    *(dt.date(2025, 1, 28) + dt.timedelta(days=i) for i in range(8)),
    *(dt.date(2025, 4, 4) + dt.timedelta(days=i) for i in range(3)),
    *(dt.date(2025, 5, 1) + dt.timedelta(days=i) for i in range(5)),
    *(dt.date(2025, 5, 31) + dt.timedelta(days=i) for i in range(3)),
    *(dt.date(2025, 10, 1) + dt.timedelta(days=i) for i in range(8)),
    *(dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(3)),
    *(dt.date(2026, 2, 15) + dt.timedelta(days=i) for i in range(9)),
}
MAKEUP_DAYS = {dt.date(2025, 1, 26), dt.date(2025, 2, 8), dt.date(2025, 4, 27),
               dt.date(2025, 9, 28), dt.date(2025, 10, 11), dt.date(2026, 1, 4),
               dt.date(2026, 2, 14), dt.date(2026, 2, 28)}


def is_workday(day: dt.date) -> bool:
    return day in MAKEUP_DAYS or (day.weekday() < 5 and day not in HOLIDAYS)


def workday(day: dt.date) -> dt.date:
    """The day itself, or the next working day."""
    while not is_workday(day):
        day += dt.timedelta(days=1)
    return day


def workday_before(day: dt.date) -> dt.date:
    """The day itself, or the last working day before it."""
    while not is_workday(day):
        day -= dt.timedelta(days=1)
    return day


def region_name(code: str) -> str:
    city = CITY_OF[code[:4]]
    return REGIONS[city] + (REGIONS[code] if code != city else "")


# -- organisations -------------------------------------------------------------------------
def org_code_check(first8: str) -> str:
    """GB 11714 check character of an organisation code (the 9th character)."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c, 36) * w for c, w in zip(first8, weights, strict=True))
    c9 = 11 - total % 11
    return "X" if c9 == 10 else "0" if c9 == 11 else str(c9)


USED_CODES: set[str] = set()
for _row in csv.DictReader((ROOT / "addons/base/demo/erp_organization.csv").open(encoding="utf-8-sig")):
    if _row["credit_code"]:
        USED_CODES.add(_row["credit_code"])


def credit_code(kind: str, region: str, size: str | None) -> str:
    """A valid code: 11 government body, 12 public institution, 91 enterprise."""
    letters = [c for c in CHARSET if not c.isdigit()]
    while True:
        if kind == "11":
            body = "0135" + "".join(rng.choice("0123456789") for _ in range(4))
        elif kind == "12":
            body = "4127" + "".join(rng.choice("0123456789") for _ in range(4))
        elif size == "large":  # an older enterprise: numeric organisation code
            body = rng.choice("67") + "".join(rng.choice("0123456789") for _ in range(7))
        else:  # registered after 2015
            body = "MA" + "".join(rng.choice("0123456789" + "".join(letters)) for _ in range(6))
        code = make(kind + region + body + org_code_check(body))
        if code not in USED_CODES:
            USED_CODES.add(code)
            return code


@dataclass
class Org:
    key: str
    name: str
    org_type: str
    region: str
    parent: str = ""
    size: str = ""
    sectors: tuple[str, ...] = ()
    code: str = ""

    @property
    def ref(self) -> str:
        return self.key


BASE_SUPPLIERS = {
    # base's demo suppliers take part too (the first two by id must have bids and contracts)
    "base.sup_cc_tech": Org("base.sup_cc_tech", "长春华信科技有限公司", "supplier", "220100",
                            size="small", sectors=("it", "edu", "security")),
    "base.sup_jl_med": Org("base.sup_jl_med", "吉林康健医疗器械有限公司", "supplier", "220200",
                           size="micro", sectors=("medical", "consumables")),
    "base.sup_yb_feed": Org("base.sup_yb_feed", "延边牧丰饲料有限公司", "supplier", "222401",
                            size="medium", sectors=("feed",)),
}

ORGS: list[Org] = [
    # 长春市: competent budget units (主管预算单位) and their purchasers
    Org("cu_cc_health", "长春市卫生健康委员会", "competent_unit", "220100"),
    Org("pur_cc_hospital", "长春市中心医院", "purchaser", "220104", "cu_cc_health"),
    Org("pur_cc_cdc", "长春市疾病预防控制中心", "purchaser", "220100", "cu_cc_health"),
    Org("pur_cc_shiyan", "长春市实验中学", "purchaser", "220104", "base.pur_cc_edu"),
    Org("cu_cc_police", "长春市公安局", "competent_unit", "220100"),
    Org("pur_cc_traffic", "长春市公安局交通警察支队", "purchaser", "220100", "cu_cc_police"),
    Org("cu_cc_urban", "长春市城市管理局", "competent_unit", "220100"),
    Org("pur_cc_facility", "长春市市政设施养护中心", "purchaser", "220100", "cu_cc_urban"),
    Org("cu_ng_edu", "长春市南关区教育局", "competent_unit", "220102"),
    Org("pur_ng_mingzhu", "长春市南关区明珠小学", "purchaser", "220102", "cu_ng_edu"),
    Org("cu_cy_health", "长春市朝阳区卫生健康局", "competent_unit", "220104"),
    Org("pur_cy_guilin", "长春市朝阳区桂林街道社区卫生服务中心", "purchaser", "220104", "cu_cy_health"),
    # 吉林市
    Org("cu_jl_edu", "吉林市教育局", "competent_unit", "220200"),
    Org("pur_jl_no1", "吉林市第一中学", "purchaser", "220204", "cu_jl_edu"),
    Org("pur_jl_no12", "吉林市第十二中学", "purchaser", "220202", "cu_jl_edu"),
    Org("pur_jl_people", "吉林市人民医院", "purchaser", "220202", "base.pur_jl_health"),
    Org("pur_jl_mch", "吉林市妇幼保健院", "purchaser", "220204", "base.pur_jl_health"),
    Org("cu_jl_urban", "吉林市城市管理局", "competent_unit", "220200"),
    Org("pur_jl_sanitation", "吉林市环境卫生管理中心", "purchaser", "220203", "cu_jl_urban"),
    # 延边州
    Org("cu_yb_livestock", "延边州畜牧业管理局", "competent_unit", "222400"),
    Org("pur_yb_adc", "延边州动物疫病预防控制中心", "purchaser", "222400", "cu_yb_livestock"),
    Org("pur_yb_cattle", "延边州延边黄牛良种繁育中心", "purchaser", "222401", "cu_yb_livestock"),
    Org("cu_yb_edu", "延边州教育局", "competent_unit", "222400"),
    Org("pur_yb_no1", "延边第一中学", "purchaser", "222401", "cu_yb_edu"),
    Org("cu_yb_health", "延边州卫生健康委员会", "competent_unit", "222400"),
    Org("pur_yb_tcm", "延边州中医医院", "purchaser", "222401", "cu_yb_health"),
    # centralized procurement institutions (集中采购机构) and agencies (采购代理机构)
    Org("agency_cc_center", "长春市政府采购中心", "central_procurement", "220100"),
    Org("agency_cc_zhongzheng", "吉林省中正招标代理有限公司", "agency", "220104"),
    Org("agency_jl_center", "吉林市政府采购中心", "central_procurement", "220200"),
    Org("agency_jl_jiangcheng", "吉林市江城招标代理有限公司", "agency", "220202"),
    Org("agency_yb_center", "延边州政府采购中心", "central_procurement", "222400"),
    Org("agency_yb_zhenghe", "延边正和项目管理有限公司", "agency", "222401"),
]


def sup(key: str, name: str, region: str, size: str, *sectors: str) -> Org:
    return Org(key, name, "supplier", region, size=size, sectors=sectors)


SUPPLIERS: list[Org] = [
    # 长春市
    sup("sup_cc_huayu", "吉林省华育教学设备有限公司", "220104", "medium", "edu"),
    sup("sup_cc_zhiyuan", "长春智远信息技术股份有限公司", "220104", "large", "it", "security"),
    sup("sup_cc_beifang", "长春市北方办公家具有限公司", "220106", "small", "furniture"),
    sup("sup_cc_senlian", "长春森联家具制造有限公司", "220122", "medium", "furniture"),
    sup("sup_cc_kangyuan", "吉林省康源医药有限公司", "220102", "large", "consumables", "reagent", "pharma"),
    sup("sup_cc_hongda", "长春市宏达物业服务有限公司", "220105", "medium", "property"),
    sup("sup_cc_boyuan", "长春博远科技有限公司", "220102", "micro", "it", "edu"),
    sup("sup_cc_hengxin", "长春恒信图书发行有限公司", "220103", "small", "books"),
    sup("sup_cc_zhonghui", "吉林省中汇建设工程有限公司", "220104", "large", "works"),
    sup("sup_cc_xinyuan", "长春市鑫源装饰工程有限公司", "220112", "small", "works"),
    sup("sup_cc_tiancheng", "长春天成医疗设备有限公司", "220105", "medium", "medical", "consumables"),
    sup("sup_cc_ruiying", "吉林省瑞影医疗科技有限公司", "220104", "large", "medical"),
    sup("sup_cc_dongbeiya", "吉林省东北亚医疗器械股份有限公司", "220104", "large", "medical", "consumables"),
    sup("sup_cc_shenghua", "吉林省盛华数码科技有限公司", "220102", "small", "it", "security", "edu"),
    sup("sup_cc_lvyuan", "长春绿源环境卫生服务有限公司", "220113", "small", "property"),
    sup("sup_cc_jinqiao", "长春市金桥印务有限公司", "220106", "micro", "books"),
    sup("sup_cc_anda", "长春安达消防设备有限公司", "220122", "micro", "security"),
    sup("sup_cc_dongfang", "吉林省东方生物药业有限公司", "220104", "large", "vaccine", "reagent"),
    sup("sup_cc_bokang", "长春博康动物药业有限公司", "220112", "small", "vaccine"),
    sup("sup_cc_jingce", "长春市精测生物科技有限公司", "220105", "small", "reagent"),
    # 吉林市
    sup("sup_jl_jiangcheng", "吉林市江城教学仪器有限公司", "220204", "small", "edu"),
    sup("sup_jl_songjiang", "吉林市松花江医疗器械有限公司", "220202", "medium", "medical", "consumables", "reagent"),
    sup("sup_jl_ruikang", "吉林市瑞康医疗用品有限公司", "220204", "small", "consumables", "reagent"),
    sup("sup_jl_beishan", "吉林市北山家具制造有限公司", "220211", "small", "furniture"),
    sup("sup_jl_longtan", "吉林市龙潭建筑工程有限公司", "220203", "medium", "works"),
    sup("sup_jl_wusong", "吉林市雾凇信息技术有限公司", "220204", "micro", "it"),
    sup("sup_jl_changda", "吉林市昌达物业管理有限公司", "220202", "small", "property"),
    sup("sup_jl_yongji", "吉林市永吉粮油食品有限公司", "220221", "small", "food"),
    sup("sup_jl_fengman", "吉林市丰满食品配送有限公司", "220211", "micro", "food"),
    sup("sup_jl_zhongke", "吉林市中科环保设备有限公司", "220211", "micro", "vehicle"),
    sup("sup_jl_jiangbei", "吉林市江北专用汽车有限公司", "220204", "large", "vehicle"),
    sup("sup_jl_beihua", "吉林市北华中药饮片有限公司", "220202", "medium", "pharma"),
    sup("sup_jl_shuxiang", "吉林市书香文化传播有限公司", "220202", "micro", "books"),
    # 延边州
    sup("sup_yb_huakang", "延边华康生物制品有限公司", "222401", "medium", "vaccine"),
    sup("sup_yb_xingnong", "延吉市兴农农资有限公司", "222401", "micro", "feed", "drone"),
    sup("sup_yb_linhai", "敦化市林海兽药有限公司", "222403", "small", "vaccine", "feed"),
    sup("sup_yb_tianchi", "延边天池信息技术有限公司", "222401", "small", "it"),
    sup("sup_yb_bianhai", "珲春市边海冷链物流有限公司", "222404", "small", "cold", "food"),
    sup("sup_yb_hengfeng", "龙井市恒丰畜牧设备有限公司", "222405", "micro", "cold", "drone", "feed"),
    sup("sup_yb_boya", "延边博雅教育装备有限公司", "222401", "micro", "edu", "furniture"),
    sup("sup_yb_bencao", "图们市本草堂中药饮片有限公司", "222402", "micro", "pharma"),
    sup("sup_yb_changbai", "敦化市长白山中药饮片有限公司", "222403", "small", "pharma"),
    sup("sup_yb_dingsheng", "延边鼎盛建筑工程有限公司", "222401", "medium", "works"),
    # other cities of the province
    sup("sup_sp_dongfang", "四平市东方机电设备有限公司", "220302", "medium", "vehicle", "cold", "drone"),
    sup("sup_th_kangtai", "通化市康泰医药有限公司", "220502", "large", "pharma", "consumables", "vaccine"),
    sup("sup_sy_huayu", "松原市华宇电子科技有限公司", "220702", "small", "it", "security", "edu"),
]

ORG_FIELDS = ["id", "name", "credit_code", "org_type", "region_id:ref", "parent_id:ref", "size",
              "address", "contact", "phone", "active"]


def person() -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


GOVERNMENT_BODY = ("局", "委员会", "支队")


def org_rows() -> list[dict[str, str]]:
    rows = []
    for org in ORGS + SUPPLIERS:
        if org.org_type == "competent_unit" or org.name.endswith(GOVERNMENT_BODY):
            kind = "11"  # 机关
        elif org.org_type in ("purchaser", "central_procurement"):
            kind = "12"  # 事业单位
        else:
            kind = "91"  # 企业
        org.code = credit_code(kind, org.region, org.size or None)
        city = CITY_OF[org.region[:4]]
        street = rng.choice(STREETS[org.region])
        rows.append({
            "id": org.key,
            "name": org.name,
            "credit_code": org.code,
            "org_type": org.org_type,
            "region_id:ref": f"core.region_{org.region}",
            "parent_id:ref": org.parent,
            "size": org.size,
            "address": f"吉林省{region_name(org.region)}{street}{rng.randint(1, 2999)}号",
            "contact": person(),
            "phone": f"{AREA_CODE[city]}-8{rng.randint(0, 9999999):07d}",
            "active": "true",
        })
    return rows


# -- the catalog (only codes at the top two levels of the national catalog) ---------------
CATALOG = {
    "equipment": "cat_A02",   # 设备
    "books": "cat_A04",       # 图书和档案
    "furniture": "cat_A05",   # 家具和用具
    "goods": "cat_A07",       # 材料 (consumables, reagents, vaccines, feed, food, herbal pieces)
    "repair": "cat_B08",      # 修缮工程
    "it_service": "cat_C16",  # 信息技术服务
    "property": "cat_C21",    # 房地产服务 (物业管理服务 is below it)
}


def check_catalog() -> None:
    """Every catalog id referenced must be shipped by data/pb_catalog.csv."""
    path = HERE.parent / "data" / "pb_catalog.csv"
    shipped = {r["id"] for r in csv.DictReader(path.open(encoding="utf-8-sig"))}
    missing = sorted(set(CATALOG.values()) - shipped)
    if missing:
        raise SystemExit(f"{path} lacks {', '.join(missing)}")


# -- projects ------------------------------------------------------------------------------
#: notice-to-deadline days by method (statutory minimums: tender 20, consultation 10,
#: negotiation / inquiry 3 working days, single-source publicity 5 working days)
PERIOD = {
    "public_tender": (21, 26),
    "invitation": (21, 24),
    "competitive_consultation": (11, 14),
    "competitive_negotiation": (5, 7),
    "inquiry": (5, 7),
    "single_source": (7, 8),
}
BIDDERS = {
    "public_tender": (3, 5),
    "invitation": (3, 3),
    "competitive_consultation": (3, 4),
    "competitive_negotiation": (3, 3),
    "inquiry": (3, 4),
    "single_source": (1, 1),
}
PREFIX = {"220100": "CCZC", "220200": "JLZC", "222400": "YBZC"}
SME_LABEL = {"large": "none", "medium": "medium", "small": "small", "micro": "micro"}
#: the states after the opening (开标: "published" -> "bidding" records the opening date;
#: a failed procurement is opened unless too few bids arrived by the deadline)
OPENED = ("bidding", "evaluated", "awarded", "contracted", "completed")
AWARDED = ("awarded", "contracted", "completed")


@dataclass
class P:
    """A project of the scenario (packages: name, budget in yuan, reserved for SMEs)."""

    name: str
    purchaser: str
    agency: str
    catalog: str
    sector: str
    method: str
    budget: int
    status: str
    measure: str
    packages: list[tuple[str, int, bool]]
    notice: dt.date | None = None
    kind: str = "goods"  # goods / works / services / batches: payment terms
    retention: bool = False  # goods: 5% quality deposit paid a year after acceptance
    winners: dict[int, str] = field(default_factory=dict)  # package number -> supplier
    note: str = ""
    over_budget: bool = False  # failed: every offer above the package budget
    early_bids: int = 0  # published: bids already submitted before the deadline


D = dt.date
PROJECTS: list[P] = [
    # ---- 长春市 ----
    P("长春市第一中学教学设备采购项目", "base.pur_cc_school", "agency_cc_center", "equipment",
      "edu", "public_tender", 1_280_000, "completed", "whole",
      [("智慧黑板及多媒体教学设备", 860_000, True), ("理化生实验室仪器", 400_000, True)],
      D(2025, 3, 10), winners={1: "base.sup_cc_tech"}),
    P("长春市中心医院医学影像设备采购项目", "pur_cc_hospital", "base.agency_cc", "equipment",
      "medical", "public_tender", 8_600_000, "contracted", "none",
      [("64排螺旋CT", 5_200_000, False), ("数字化X射线摄影系统（DR）", 1_950_000, False),
       ("彩色多普勒超声诊断仪", 1_380_000, False)],
      D(2025, 8, 4), retention=True, note="大型医用设备，经市场调研无中小企业可提供，不适宜预留份额（已说明理由）。"),
    P("长春市疾病预防控制中心实验室检测试剂采购", "pur_cc_cdc", "agency_cc_center", "goods",
      "reagent", "competitive_consultation", 960_000, "awarded", "whole",
      [("病原微生物检测试剂", 920_000, True)], D(2025, 10, 27)),
    P("长春市公安局交通警察支队执法记录仪采购", "pur_cc_traffic", "agency_cc_center", "equipment",
      "security", "inquiry", 380_000, "completed", "whole",
      [("执法记录仪及采集工作站", 380_000, True)], D(2025, 4, 14),
      winners={1: "base.sup_cc_tech"}),
    P("长春市实验中学学生公寓家具采购项目", "pur_cc_shiyan", "agency_cc_zhongzheng", "furniture",
      "furniture", "competitive_consultation", 650_000, "contracted", "whole",
      [("学生公寓床柜及书桌", 640_000, True)], D(2025, 7, 7), retention=True),
    P("长春市南关区明珠小学校园安防监控系统改造", "pur_ng_mingzhu", "base.agency_cc", "equipment",
      "security", "inquiry", 290_000, "published", "whole",
      [("安防监控设备及安装", 290_000, True)], D(2025, 11, 25), early_bids=2),
    P("长春市朝阳区桂林街道社区卫生服务中心医疗设备采购", "pur_cy_guilin", "agency_cc_center",
      "equipment", "medical", "competitive_consultation", 1_500_000, "bidding", "whole",
      [("全自动生化分析仪", 780_000, True), ("心电监护与除颤设备", 690_000, True)],
      D(2025, 11, 7)),
    P("长春市教育局教育管理信息平台升级改造（单一来源）", "base.pur_cc_edu", "agency_cc_center",
      "it_service", "it", "single_source", 480_000, "contracted", "none",
      [("教育管理信息平台升级", 480_000, False)], D(2025, 6, 9), kind="services",
      winners={1: "sup_cc_zhiyuan"},
      note="原平台为该公司开发，升级须与原系统保持一致，只能从原供应商处采购；已公示5个工作日无异议。"),
    P("长春市市政设施养护中心办公楼维修改造工程", "pur_cc_facility", "agency_cc_zhongzheng", "repair",
      "works", "competitive_consultation", 2_600_000, "evaluated", "whole",
      [("办公楼维修改造", 2_580_000, True)], D(2025, 10, 31), kind="works"),
    P("长春市卫生健康委员会2026年度办公设备采购", "cu_cc_health", "agency_cc_center", "equipment",
      "it", "inquiry", 210_000, "draft", "whole",
      [("计算机及打印设备", 210_000, True)]),
    P("长春市中心医院物业管理服务采购", "pur_cc_hospital", "agency_cc_center", "property",
      "property", "public_tender", 4_800_000, "failed", "subcontract",
      [("院区保洁、安保及运送服务", 4_800_000, False)], D(2025, 9, 1), kind="services",
      note="投标截止时提交投标文件的供应商不足三家，依法废标，重新组织采购。"),
    P("长春市公安局交通警察支队交通信号控制设备采购", "pur_cc_traffic", "base.agency_cc",
      "equipment", "security", "public_tender", 3_200_000, "terminated", "package",
      [("路口信号控制机", 1_900_000, False), ("交通信号灯及配套设施", 1_300_000, True)],
      D(2025, 9, 22), note="因道路改造规划调整，采购需求发生重大变化，经同级财政部门同意终止采购。"),
    P("长春市第一中学图书馆图书采购", "base.pur_cc_school", "agency_cc_zhongzheng", "books",
      "books", "inquiry", 180_000, "completed", "whole",
      [("馆藏图书", 180_000, True)], D(2025, 5, 12)),
    # ---- 吉林市 ----
    P("吉林市中心医院医用耗材采购", "base.pur_jl_hospital", "agency_jl_center", "goods",
      "consumables", "public_tender", 3_600_000, "completed", "package",
      [("一次性注射穿刺类耗材", 1_200_000, True), ("医用敷料", 900_000, True),
       ("血液净化耗材", 1_450_000, False)],
      D(2025, 2, 24), winners={1: "base.sup_jl_med"}),
    P("吉林市第一中学多媒体教室建设项目", "pur_jl_no1", "agency_jl_jiangcheng", "equipment",
      "edu", "competitive_consultation", 1_150_000, "contracted", "whole",
      [("多媒体教室设备", 1_150_000, True)], D(2025, 8, 18), retention=True),
    P("吉林市人民医院病房家具采购", "pur_jl_people", "agency_jl_center", "furniture",
      "furniture", "inquiry", 420_000, "awarded", "whole",
      [("病房床头柜及陪护椅", 420_000, True)], D(2025, 11, 3)),
    P("吉林市环境卫生管理中心环卫作业车辆采购", "pur_jl_sanitation", "agency_jl_center", "equipment",
      "vehicle", "public_tender", 4_350_000, "evaluated", "consortium",
      [("压缩式垃圾车", 2_400_000, False), ("洗扫车", 1_900_000, False)], D(2025, 10, 20)),
    P("吉林市妇幼保健院信息系统运维服务", "pur_jl_mch", "agency_jl_jiangcheng", "it_service",
      "it", "competitive_negotiation", 360_000, "bidding", "whole",
      [("医院信息系统运行维护", 360_000, True)], D(2025, 11, 14), kind="services"),
    P("吉林市第十二中学食堂食材采购", "pur_jl_no12", "agency_jl_jiangcheng", "goods",
      "food", "inquiry", 260_000, "published", "whole",
      [("粮油及副食品", 260_000, True)], D(2025, 11, 26)),
    P("吉林市城市管理局办公楼屋面防水维修工程", "cu_jl_urban", "agency_jl_center", "repair",
      "works", "invitation", 880_000, "completed", "whole",
      [("屋面防水维修", 860_000, True)], D(2025, 4, 1), kind="works"),
    P("吉林市中心医院血液透析设备采购", "base.pur_jl_hospital", "agency_jl_center", "equipment",
      "medical", "public_tender", 2_950_000, "draft", "subcontract",
      [("血液透析机", 2_100_000, False), ("透析水处理系统", 800_000, False)]),
    # ---- 延边州 ----
    P("延边州动物疫苗集中采购", "pur_yb_adc", "agency_yb_center", "goods", "vaccine",
      "public_tender", 5_800_000, "contracted", "package",
      [("口蹄疫疫苗", 2_600_000, False), ("高致病性禽流感疫苗", 1_500_000, True),
       ("布鲁氏菌病疫苗", 1_500_000, True)], D(2025, 7, 21), kind="batches"),
    P("延边第一中学理科实验室设备采购", "pur_yb_no1", "agency_yb_zhenghe", "equipment",
      "edu", "competitive_consultation", 1_680_000, "completed", "whole",
      [("物理化学实验室设备", 980_000, True), ("生物实验室设备", 680_000, True)],
      D(2025, 3, 17)),
    P("延边黄牛良种繁育中心饲料采购", "pur_yb_cattle", "agency_yb_zhenghe", "goods",
      "feed", "inquiry", 720_000, "completed", "whole",
      [("精饲料及添加剂", 720_000, True)], D(2025, 5, 6), winners={1: "base.sup_yb_feed"}),
    P("延边州中医医院中药饮片采购", "pur_yb_tcm", "agency_yb_center", "goods",
      "pharma", "competitive_negotiation", 1_200_000, "awarded", "whole",
      [("中药饮片", 1_200_000, True)], D(2025, 11, 10)),
    P("延边州动物疫病预防控制中心疫苗冷链设备采购", "pur_yb_adc", "agency_yb_zhenghe", "equipment",
      "cold", "inquiry", 450_000, "terminated", "whole",
      [("医用冷藏箱及冷链监测设备", 450_000, True)], D(2025, 10, 13),
      note="采购人预算调整，经同级财政部门同意终止本次采购，已发布终止公告。"),
    P("延边州农业农村局植保无人机采购", "base.pur_yb_agri", "agency_yb_center", "equipment",
      "drone", "inquiry", 560_000, "draft", "whole",
      [("植保无人机及配套设备", 560_000, True)]),
    P("延边第一中学计算机教室设备采购", "pur_yb_no1", "agency_yb_zhenghe", "equipment",
      "it", "competitive_consultation", 900_000, "failed", "whole",
      [("学生计算机及网络设备", 900_000, True)], D(2025, 9, 8), over_budget=True,
      note="有效报价均超过采购预算，依法终止竞争性磋商，调整预算后重新采购。"),
]

PROJECT_FIELDS = ["id", "number", "name", "purchaser_id:ref", "agency_id:ref", "catalog_id:ref",
                  "method", "budget", "sme_measure", "sme_reserved_amount", "notice_date",
                  "bid_deadline", "opening_date", "award_date", "contract_date", "status", "note",
                  "region_id:ref"]
PACKAGE_FIELDS = ["id", "project_id:ref", "number", "name", "budget", "sme_reserved", "region_id:ref"]
BID_FIELDS = ["id", "package_id:ref", "supplier_id:ref", "price", "status", "submitted_at",
              "region_id:ref"]
CONTRACT_FIELDS = ["id", "number", "source", "project_id:ref", "package_id:ref", "order_ref",
                   "purchaser_id:ref", "supplier_id:ref", "amount", "signed_date", "sme_label",
                   "over_bid_reason", "status", "region_id:ref"]
PLAN_FIELDS = ["id", "contract_id:ref", "seq", "due_date", "amount", "note", "region_id:ref"]
PAYMENT_FIELDS = ["id", "contract_id:ref", "paid_date", "amount", "reference", "payee_account",
                  "region_id:ref"]
#: 收款账户 of payments made after the purchaser confirmed the contract's financing lock in the
#: supply_chain_finance demo (scf_application.yaml): paid to the locked repayment account
PAYEE_ACCOUNTS = {"pay_cczc_002_2_2": "6216610200087654321",
                  "pay_jlzc_002_1_2": "0801012000123456789"}


def org_by_ref() -> dict[str, Org]:
    out = {o.key: o for o in ORGS + SUPPLIERS}
    out.update(BASE_SUPPLIERS)
    for key, region in (("base.pur_cc_school", "220102"), ("base.pur_cc_edu", "220100"),
                        ("base.pur_jl_hospital", "220202"), ("base.pur_jl_health", "220200"),
                        ("base.pur_yb_agri", "222400"), ("base.agency_cc", "220100")):
        out[key] = Org(key, key, "purchaser", region)
    return out


def stamp(day: dt.date, lo: tuple[int, int], hi: tuple[int, int]) -> dt.datetime:
    start, end = lo[0] * 60 + lo[1], hi[0] * 60 + hi[1]
    minute = rng.randint(start, end)
    return dt.datetime.combine(day, dt.time(minute // 60, minute % 60, rng.randint(0, 59)))


def plan_terms(kind: str, amount: Decimal, signed: dt.date, retention: bool
               ) -> list[tuple[dt.date, Decimal, str]]:
    """Payment schedule lines (due date, amount, note) summing to ``amount``."""

    def due(days: int) -> dt.date:
        return workday(signed + dt.timedelta(days=days))

    if kind == "services":
        quarter = share(amount, 250)
        lines = [(due(91 * (i + 1) + 10), quarter, f"第{i + 1}季度服务费（季度考核合格后支付）")
                 for i in range(4)]
    elif kind == "works":
        lines = [
            (due(10), share(amount, 300), "预付款（30%）"),
            (due(45), share(amount, 400), "进度款（完成工程量的70%时支付）"),
            (due(80), Decimal(0), "竣工验收合格后结算支付"),
        ]
    elif kind == "batches":
        lines = [
            (due(40), share(amount, 500), "秋季防疫批次到货验收合格后支付50%"),
            (workday(dt.date(signed.year + 1, 3, 20)), Decimal(0), "春季防疫批次到货验收合格后支付剩余款项"),
        ]
    elif amount < 500_000:
        lines = [(due(35), Decimal(0), "验收合格后10个工作日内一次性支付")]
    else:
        lines = [
            (due(10), share(amount, 300), "预付款（合同签订后10个工作日内支付30%）"),
            (due(50), Decimal(0), "到货验收合格后支付剩余款项"),
        ]
        if retention:
            lines[1] = (lines[1][0], Decimal(0), "到货验收合格后支付至合同金额的95%")
            lines.append((due(50 + 365), share(amount, 50), "质保金（5%，质保期满一年后支付）"))
    rest = amount - sum(a for _, a, _ in lines)
    # the line with amount 0 (or the last) takes the remainder, so the plan sums exactly
    idx = next((i for i, (_, a, _) in enumerate(lines) if a == 0), len(lines) - 1)
    when, a, note = lines[idx]
    lines[idx] = (when, a + rest, note)
    return lines


def build() -> dict[str, list[dict[str, str]]]:
    orgs = org_rows()
    by_ref = org_by_ref()
    suppliers = list(BASE_SUPPLIERS.values()) + SUPPLIERS
    tables: dict[str, list[dict[str, str]]] = {
        "erp_organization.procurement": orgs, "pb_project": [], "pb_package": [], "pb_bid": [],
        "pb_contract": [], "pb_payment_plan": [], "pb_payment": [],
    }
    seq: dict[str, int] = {}
    voucher = 0
    for p in PROJECTS:
        purchaser = by_ref[p.purchaser]
        region = purchaser.region
        city = CITY_OF[region[:4]]
        seq[city] = seq.get(city, 0) + 1
        number = f"{PREFIX[city]}2025-{seq[city]:03d}"
        pid = f"prj_{PREFIX[city].lower()}_{seq[city]:03d}"
        budget = money(p.budget)
        pkg_total = sum(money(b) for _, b, _ in p.packages)
        assert pkg_total <= budget, p.name
        reserved: Decimal | None = {
            "none": None,
            "whole": budget,
            "package": sum((money(b) for _, b, r in p.packages if r), Decimal(0)),
            "consortium": share(budget, 400),
            "subcontract": share(budget, 400),
        }[p.measure]
        flags = [r for _, _, r in p.packages]
        if p.measure == "whole":
            assert all(flags), p.name
        elif p.measure == "package":
            assert any(flags) and not all(flags), p.name
        else:
            assert not any(flags), p.name

        # key dates
        notice = deadline = opening = award = None
        if p.status != "draft":
            assert p.notice is not None and is_workday(p.notice), p.name
            notice = p.notice
            lo, hi = PERIOD[p.method]
            deadline = dt.datetime.combine(
                workday(notice + dt.timedelta(days=rng.randint(lo, hi))),
                dt.time(*rng.choice(((9, 0), (9, 30), (10, 0), (14, 0)))),
            )
            if p.status == "published":
                assert deadline.date() > AS_OF, p.name
            if p.status in ("published",):
                assert notice <= AS_OF, p.name
            if p.status == "terminated":
                assert deadline.date() > notice, p.name
            if p.status in OPENED or (p.status == "failed" and p.over_budget):
                opening = deadline.date()
                assert opening <= AS_OF, p.name
            if p.status in AWARDED:
                award = workday(opening + dt.timedelta(days=rng.randint(2, 5)))
                assert award <= AS_OF, p.name
        status_bid = {"published": "submitted", "bidding": "submitted", "evaluated": "submitted",
                      "failed": "lost"}

        package_rows = []
        contract_dates = []
        for n, (pname, pbudget, pres) in enumerate(p.packages, start=1):
            pkg_id = f"pkg_{pid[4:]}_{n}"
            pb = money(pbudget)
            package_rows.append({
                "id": pkg_id, "project_id:ref": pid, "number": str(n), "name": pname,
                "budget": fmt(pb), "sme_reserved": "true" if pres else "false",
                "region_id:ref": f"core.region_{region}",
            })
            if p.status in ("draft", "terminated") or (p.status == "published" and not p.early_bids):
                continue  # no bids (yet): a terminated procurement stopped before the deadline
            pool = [s for s in suppliers if p.sector in s.sectors and (not pres or s.size != "large")]
            lo, hi = BIDDERS[p.method]
            count = min(rng.randint(lo, hi), len(pool))
            if p.status == "published":
                count = p.early_bids
            if p.status == "failed" and not p.over_budget:
                count = 2  # fewer than three bidders: the tender fails
            winner_key = p.winners.get(n)
            chosen = rng.sample([s for s in pool if s.key != winner_key], count - (1 if winner_key else 0))
            if winner_key:
                chosen.insert(rng.randint(0, len(chosen)), by_ref[winner_key])
            assert len(chosen) == count, (p.name, p.sector, len(pool))
            if p.over_budget:
                prices = [money(pb * rng.randint(1030, 1120) / 1000) for _ in chosen]
            else:
                prices = [money(pb * rng.randint(855_000, 990_000) / 1_000_000) for _ in chosen]
                prices = [pr.quantize(Decimal(1), rounding=ROUND_DOWN) if rng.random() < 0.6 else pr
                          for pr in prices]
            withdrawn = (
                rng.randrange(len(chosen))
                if count >= 4 and p.status in AWARDED + ("bidding",) and rng.random() < 0.5
                else None
            )
            if p.status in AWARDED:
                # the winner offered the lowest valid price (the named winner when given)
                valid = [i for i in range(count) if i != withdrawn]
                if winner_key:
                    w = next(i for i, s in enumerate(chosen) if s.key == winner_key)
                    if withdrawn == w:
                        withdrawn = None
                        valid = list(range(count))
                    low = min(valid, key=lambda i: prices[i])
                    prices[w], prices[low] = prices[low], prices[w]
                else:
                    w = min(valid, key=lambda i: prices[i])
            for i, (s, price) in enumerate(zip(chosen, prices, strict=True)):
                last_day = min(deadline.date(), AS_OF)
                day = last_day - dt.timedelta(days=rng.randint(0, 4))
                day = max(workday_before(day), notice + dt.timedelta(days=1))
                if day == deadline.date():
                    before = deadline - dt.timedelta(minutes=5)
                    at = stamp(day, (8, 0), (before.hour, before.minute))
                else:
                    at = stamp(day, (8, 30), (17, 30))
                if i == withdrawn:
                    bstatus = "withdrawn"
                elif p.status in AWARDED:
                    bstatus = "won" if i == w else "lost"
                else:
                    bstatus = status_bid[p.status]
                skey = s.key.removeprefix("base.").removeprefix("sup_")
                tables["pb_bid"].append({
                    "id": f"bid_{pid[4:]}_{n}_{skey}", "package_id:ref": pkg_id,
                    "supplier_id:ref": s.key, "price": fmt(price), "status": bstatus,
                    "submitted_at": at.isoformat(sep=" "), "region_id:ref": f"core.region_{region}",
                })
            if p.status not in AWARDED:
                continue

            # the contract of the package
            winner, price = chosen[w], prices[w]
            assert price <= pb, (p.name, n)
            amount = price
            if rng.random() < 0.3 and price >= 100_000:
                amount = (price / 100).quantize(Decimal(1), rounding=ROUND_DOWN) * 100  # 抹零
            signed = None
            if p.status in ("contracted", "completed"):
                signed = workday(award + dt.timedelta(days=rng.randint(7, 25)))
                assert signed <= AS_OF, p.name
                contract_dates.append(signed)
            cid = f"ct_{pid[4:]}_{n}"
            lines = plan_terms(p.kind, amount, signed or workday(award + dt.timedelta(days=20)),
                               p.retention)
            paid_lines = []
            if p.status == "completed":
                cstatus = "completed"
                paid_lines = lines
                assert lines[-1][0] <= AS_OF, p.name
            elif p.status == "contracted":
                paid_lines = [ln for ln in lines if ln[0] <= AS_OF]
                cstatus = "performing" if paid_lines or (AS_OF - signed).days > 14 else "signed"
            else:
                cstatus = "draft"
            tables["pb_contract"].append({
                "id": cid, "number": f"{number}-HT{n:02d}", "source": "project",
                "project_id:ref": pid, "package_id:ref": pkg_id, "order_ref": "",
                "purchaser_id:ref": p.purchaser, "supplier_id:ref": winner.key,
                "amount": fmt(amount), "signed_date": signed.isoformat() if signed else "",
                "sme_label": SME_LABEL[winner.size], "over_bid_reason": "", "status": cstatus,
                "region_id:ref": f"core.region_{region}",
            })
            for k, (due, a, note) in enumerate(lines, start=1):
                tables["pb_payment_plan"].append({
                    "id": f"plan_{pid[4:]}_{n}_{k}", "contract_id:ref": cid, "seq": str(k),
                    "due_date": due.isoformat(), "amount": fmt(a), "note": note,
                    "region_id:ref": f"core.region_{region}",
                })
            for k, (due, a, _note) in enumerate(paid_lines, start=1):
                paid = workday_before(due - dt.timedelta(days=rng.randint(0, 3)))
                paid = min(max(signed, paid), AS_OF)
                voucher += 1
                tables["pb_payment"].append({
                    "id": f"pay_{pid[4:]}_{n}_{k}", "contract_id:ref": cid,
                    "paid_date": paid.isoformat(), "amount": fmt(a),
                    "reference": f"国库集中支付 GKZF{paid:%Y%m%d}{voucher:04d}",
                    "payee_account": PAYEE_ACCOUNTS.get(f"pay_{pid[4:]}_{n}_{k}", ""),
                    "region_id:ref": f"core.region_{region}",
                })
        tables["pb_project"].append({
            "id": pid, "number": number, "name": p.name, "purchaser_id:ref": p.purchaser,
            "agency_id:ref": p.agency, "catalog_id:ref": CATALOG[p.catalog], "method": p.method,
            "budget": fmt(budget), "sme_measure": p.measure, "sme_reserved_amount": fmt(reserved),
            "notice_date": notice.isoformat() if notice else "",
            "bid_deadline": deadline.isoformat(sep=" ") if deadline else "",
            "opening_date": opening.isoformat() if opening else "",
            "award_date": award.isoformat() if award else "",
            "contract_date": min(contract_dates).isoformat() if contract_dates else "",
            "status": p.status, "note": p.note, "region_id:ref": f"core.region_{region}",
        })
        tables["pb_package"].extend(package_rows)
    return tables


FIELDS = {
    "erp_organization.procurement": ORG_FIELDS, "pb_project": PROJECT_FIELDS,
    "pb_package": PACKAGE_FIELDS, "pb_bid": BID_FIELDS, "pb_contract": CONTRACT_FIELDS,
    "pb_payment_plan": PLAN_FIELDS, "pb_payment": PAYMENT_FIELDS,
}
#: the manifest's "demo" list, in load order
FILES = [f"demo/{name}.csv" for name in FIELDS]


def main() -> None:
    check_catalog()
    manifest = ast.literal_eval((HERE.parent / "__manifest__.py").read_text(encoding="utf-8"))
    if manifest.get("demo") != FILES:
        raise SystemExit(f"the manifest's \"demo\" key should list, in this order: {FILES}")
    tables = build()
    for org in ORGS + SUPPLIERS:
        validate(org.code)
    for name, rows in tables.items():
        path = HERE / f"{name}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS[name], lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        print(f"{path.relative_to(ROOT)}: {len(rows)} rows")


if __name__ == "__main__":
    main()
