"""Writes the demo files of ``emall_livestock``: the livestock pavilion in use (2025).

Run from anywhere (stdlib + PyYAML, plus ``core.services.credit_code``)::

    .venv/bin/python addons/emall_livestock/demo/generate.py

Deterministic (seeded random): running it again rewrites identical files. The scenario as
of :data:`AS_OF`:

* livestock organisations: the 长春市 and 吉林市 畜牧业管理局 (competent units) with their
  animal-disease control centres and county stations (purchasers), and livestock
  suppliers in 长春市 and 吉林市 (valid, unique credit codes); procurement_base's 延边
  livestock bureau and two of its suppliers are reused, not duplicated;
* the livestock-system purchaser list (``emall_livestock_purchaser``): the three bureaus,
  each with its subordinate units;
* admissions (入驻): every livestock supplier admitted to the pavilion departments it sells
  (one application still pending, one suspended);
* about 300 listings over every leaf category of the pavilion, with attribute values
  that follow each category's template, prices at or below the reference, and cold-chain
  delivery (and a cold-chain coverage limited to the cities the supplier serves) for
  every category that requires it;
* orders of the livestock purchasers in every state of emall's order flow (placed,
  confirmed, shipped, delivered, accepted, paid, cancelled, disputed), with their lines,
  the acceptance record of accepted and paid orders, the contract (procurement_base) of
  every accepted order and the payment of the paid ones.

Money is ``Decimal`` throughout, written with two decimals; never float.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import sys
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
MODULE_DIR = HERE.parent
ROOT = HERE.parents[2]
try:
    from core.services.credit_code import CHARSET, make, validate
except ImportError:  # run as a script: the repository root is not on sys.path
    sys.path.insert(0, str(ROOT))
    from core.services.credit_code import CHARSET, make, validate

SEED = 20251127
AS_OF = dt.date(2025, 11, 28)  # the demo's "today" (procurement_base's too)
CENT = Decimal("0.01")
rng = random.Random(SEED)


def money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def fmt(value: Decimal | None) -> str:
    return "" if value is None else f"{money(value):.2f}"


#: official holidays and make-up working days of 2025 (国办发明电〔2024〕12号)
HOLIDAYS = {
    dt.date(2025, 1, 1),
    *(dt.date(2025, 1, 28) + dt.timedelta(days=i) for i in range(8)),
    *(dt.date(2025, 4, 4) + dt.timedelta(days=i) for i in range(3)),
    *(dt.date(2025, 5, 1) + dt.timedelta(days=i) for i in range(5)),
    *(dt.date(2025, 5, 31) + dt.timedelta(days=i) for i in range(3)),
    *(dt.date(2025, 10, 1) + dt.timedelta(days=i) for i in range(8)),
}
MAKEUP_DAYS = {dt.date(2025, 1, 26), dt.date(2025, 2, 8), dt.date(2025, 4, 27),
               dt.date(2025, 9, 28), dt.date(2025, 10, 11)}


def is_workday(day: dt.date) -> bool:
    return day in MAKEUP_DAYS or (day.weekday() < 5 and day not in HOLIDAYS)


def workday(day: dt.date) -> dt.date:
    while not is_workday(day):
        day += dt.timedelta(days=1)
    return day


def add_workdays(day: dt.date, n: int) -> dt.date:
    """The n-th working day after ``day`` (the day itself is not counted)."""
    while n > 0:
        day += dt.timedelta(days=1)
        if is_workday(day):
            n -= 1
    return day


def at(day: dt.date, hour: int, minute: int = 0) -> str:
    return dt.datetime.combine(day, dt.time(hour, minute)).isoformat(sep="T")


def normalise(text: str) -> str:
    """emall's search/duplicate key: NFKC, case-folded, without whitespace (the demo test
    checks that it agrees with emall's own)."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


# -- organisations ----------------------------------------------------------------------------
_used_codes: set[str] = set()


def credit_code(kind: str, region: str) -> str:
    """A valid unified social credit code: ``11`` government organ, ``12`` public
    institution, ``91`` company; then the region code, a 9-character organisation code."""
    while True:
        body = "".join(rng.choice(CHARSET[:10]) for _ in range(8)) + rng.choice(CHARSET[:10])
        code = make(f"{kind}{region}{body}")
        if code not in _used_codes:
            validate(code)
            _used_codes.add(code)
            return code


SURNAMES = "王李张刘陈杨赵孙周吴徐马朱胡郭何高林罗金崔朴郑姜于"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰春雪松海波鹏宇浩然哲文博"


def person() -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


AREA = {"2201": "0431", "2202": "0432", "2224": "0433"}


def phone(region: str) -> str:
    return f"{AREA[region[:4]]}-8{rng.randint(1000000, 9999999)}"


#: key: (name, type, region, parent key, size, address)
ORGS: dict[str, tuple[str, str, str, str | None, str | None, str]] = {
    "cu_cc_livestock": ("长春市畜牧业管理局", "competent_unit", "220100", None, None,
                        "吉林省长春市朝阳区西安大路1126号"),
    "pur_cc_adc": ("长春市动物疫病预防控制中心", "purchaser", "220100", "cu_cc_livestock", None,
                   "吉林省长春市朝阳区湖西路588号"),
    "pur_cc_nongan": ("农安县畜牧业发展中心", "purchaser", "220122", "cu_cc_livestock", None,
                      "吉林省长春市农安县黄龙路233号"),
    "pur_cc_shuangyang": ("长春市双阳区动物卫生监督所", "purchaser", "220112", "cu_cc_livestock",
                          None, "吉林省长春市双阳区平湖大路76号"),
    "cu_jl_livestock": ("吉林市畜牧业管理局", "competent_unit", "220200", None, None,
                        "吉林省吉林市船营区北京路98号"),
    "pur_jl_adc": ("吉林市动物疫病预防控制中心", "purchaser", "220200", "cu_jl_livestock", None,
                   "吉林省吉林市昌邑区吉林大街1620号"),
    "pur_jl_yongji": ("永吉县畜牧业发展中心", "purchaser", "220221", "cu_jl_livestock", None,
                      "吉林省吉林市永吉县口前大街315号"),
    "sup_cc_huamu": ("吉林华牧生物科技有限公司", "supplier", "220104", None, "medium",
                     "吉林省长春市朝阳区前进大街2699号"),
    "sup_cc_jinyuan": ("长春金源兽药有限公司", "supplier", "220105", None, "small",
                       "吉林省长春市二道区吉林大路3318号"),
    "sup_cc_hefeng": ("长春禾丰饲料有限公司", "supplier", "220113", None, "medium",
                      "吉林省长春市九台区卡伦湖大街108号"),
    "sup_cc_xumu": ("吉林省畜牧良种繁育有限公司", "supplier", "220122", None, "small",
                    "吉林省长春市农安县兴华街48号"),
    "sup_cc_lengyun": ("长春冷运医药冷链设备有限公司", "supplier", "220106", None, "small",
                       "吉林省长春市绿园区青年路1877号"),
    "sup_jl_kangmu": ("吉林市康牧动物保健品有限公司", "supplier", "220204", None, "small",
                      "吉林省吉林市船营区光华路521号"),
    "sup_jl_nongji": ("吉林市丰农畜牧机械有限公司", "supplier", "220211", None, "micro",
                      "吉林省吉林市丰满区恒山西路66号"),
    "sup_jl_jiance": ("吉林市精准检测技术有限公司", "supplier", "220202", None, "micro",
                      "吉林省吉林市昌邑区重庆街210号"),
}
#: procurement_base's livestock organisations (demo), reused by external id
PB_ORGS = {
    "cu_yb_livestock": ("procurement_base.cu_yb_livestock", "222400"),
    "pur_yb_adc": ("procurement_base.pur_yb_adc", "222400"),
    "sup_cc_bokang": ("procurement_base.sup_cc_bokang", "220112"),
    "sup_yb_hengfeng": ("procurement_base.sup_yb_hengfeng", "222405"),
}
SUPPLIER_SIZE = {k: v[4] for k, v in ORGS.items() if v[1] == "supplier"}
SUPPLIER_SIZE.update({"sup_cc_bokang": "small", "sup_yb_hengfeng": "micro"})
ORG_REGION = {k: v[2] for k, v in ORGS.items()}
ORG_REGION.update({k: v[1] for k, v in PB_ORGS.items()})


def org_ref(key: str) -> str:
    return PB_ORGS[key][0] if key in PB_ORGS else key


#: which pavilion departments (top-level categories) each supplier is admitted to, and the
#: cities its cold chain reaches (region codes of its listings in cold-chain categories)
SUPPLIERS: dict[str, tuple[list[str], list[str]]] = {
    "sup_cc_huamu": (["A070505", "A070506", "A021005"], ["220100", "220200"]),
    "sup_cc_jinyuan": (["A070504", "A070507"], ["220100"]),
    "sup_cc_hefeng": (["A070203"], ["220100"]),
    "sup_cc_xumu": (["A070204"], ["220100", "220200", "222400"]),
    "sup_cc_lengyun": (["A020518", "A070507"], ["220100"]),
    "sup_jl_kangmu": (["A070505", "A070504", "A070507"], ["220200"]),
    "sup_jl_nongji": (["A022209"], ["220200"]),
    "sup_jl_jiance": (["A070506", "A021005"], ["220200", "220100"]),
    "sup_cc_bokang": (["A070505", "A070504"], ["220100", "222400"]),
    "sup_yb_hengfeng": (["A022209", "A020518"], ["222400"]),
}
ADMISSION_STATUS = {"sup_yb_hengfeng": "suspended"}
PENDING_SUPPLIER = "sup_jl_jiance_pending"  # a supplier whose application is pending

# -- the pavilion's catalog (read from the seed) ------------------------------------------------
SEED_FILE = MODULE_DIR / "data" / "emall_category_livestock.yaml"
CATS = yaml.safe_load(SEED_FILE.read_text(encoding="utf-8"))["records"]
BY_CODE = {c["code"]: c for c in CATS}
CODE_OF_ID = {c["id"]: c["code"] for c in CATS}
PARENT = {c["code"]: CODE_OF_ID[c["parent_id:ref"]] if c.get("parent_id:ref") else None
          for c in CATS}
XMLID = {c["code"]: c["id"] for c in CATS}
LEAVES = [c["code"] for c in CATS if c["code"] not in set(PARENT.values())]


def department(code: str) -> str:
    while PARENT[code] is not None:
        code = PARENT[code]
    return code


def cold(code: str) -> bool:
    while code is not None:
        if BY_CODE[code]["requires_cold_chain"]:
            return True
        code = PARENT[code]
    return False


#: per leaf: (unit, price range in yuan, product names, brands)
PRODUCTS: dict[str, tuple[str, tuple[int, int], list[str], list[str]]] = {
    "A070505-01": ("瓶", (60, 260), ["口蹄疫O型、A型二价灭活疫苗", "口蹄疫O型合成肽疫苗", "口蹄疫O型灭活疫苗"],
               ["中牧", "金宇保灵", "申联生物", "中农威特", "必威安泰"]),
    "A070505-02": ("瓶", (40, 180), ["重组禽流感病毒（H5+H7）三价灭活疫苗", "禽流感H5亚型灭活疫苗"],
               ["哈兽研", "中牧", "瑞普", "乾元浩", "易邦"]),
    "A070505-03": ("瓶", (30, 120), ["小反刍兽疫活疫苗（Clone9株）"], ["中牧", "天康", "金宇保灵"]),
    "A070505-04": ("瓶", (30, 150), ["布鲁氏菌病活疫苗（A19株）", "布鲁氏菌病活疫苗（S2株）"],
               ["中牧", "天康", "金宇保灵", "哈兽研"]),
    "A070505-05": ("瓶", (50, 200), ["棘球蚴（包虫）病基因工程亚单位疫苗"], ["重庆澳龙", "中牧"]),
    "A070505-06": ("瓶", (20, 120), ["猪瘟活疫苗（传代细胞源）", "猪瘟活疫苗（脾淋源）"],
               ["中牧", "广东永顺", "哈兽研", "吉林和元"]),
    "A070505-07": ("瓶", (40, 160), ["猪繁殖与呼吸综合征活疫苗（R98株）", "猪繁殖与呼吸综合征灭活疫苗"],
               ["哈兽研", "勃林格殷格翰", "硕腾", "吉林和元"]),
    "A070505-08": ("瓶", (10, 60), ["新城疫、传染性支气管炎二联活疫苗", "新城疫灭活疫苗（La Sota株）"],
               ["哈兽研", "瑞普", "易邦", "乾元浩"]),
    "A070505-09": ("瓶", (15, 60), ["狂犬病灭活疫苗（兽用）"], ["硕腾", "默沙东", "中牧"]),
    "A070505-10": ("瓶", (30, 180), ["猪伪狂犬病活疫苗", "羊痘活疫苗", "牛结节性皮肤病（山羊痘）活疫苗"],
               ["中牧", "哈兽研", "天康"]),
    "A070505-11": ("瓶", (40, 220), ["猪瘟病毒单克隆抗体", "鸡新城疫精制蛋黄抗体"], ["吉林和元", "瑞普"]),
    "A070504-01": ("盒", (15, 260), ["恩诺沙星注射液", "替米考星预混剂", "氟苯尼考粉", "阿莫西林可溶性粉"],
               ["回盛", "瑞普", "鲁抗", "金河"]),
    "A070504-02": ("盒", (10, 180), ["伊维菌素注射液", "阿苯达唑片", "芬苯达唑粉"], ["回盛", "齐鲁动保", "中牧"]),
    "A070504-03": ("盒", (10, 120), ["氟尼辛葡甲胺注射液", "安乃近注射液"], ["瑞普", "鲁抗"]),
    "A070504-04": ("袋", (8, 80), ["复合维生素B可溶性粉", "亚硒酸钠维生素E注射液"], ["金河", "中牧"]),
    "A070504-05": ("袋", (20, 160), ["黄芪多糖注射液", "板青颗粒", "双黄连口服液"], ["瑞普", "康地恩"]),
    "A070504-06": ("盒", (10, 120), ["缩宫素注射液", "葡萄糖酸钙注射液"], ["中牧", "回盛"]),
    "A070203-01": ("袋", (90, 260), ["育肥猪配合饲料", "肉鸡配合饲料", "蛋鸡产蛋期配合饲料"],
               ["禾丰", "正大", "新希望", "大北农"]),
    "A070203-02": ("袋", (120, 320), ["育肥猪浓缩饲料", "肉牛浓缩饲料"], ["禾丰", "正大", "大北农"]),
    "A070203-03": ("袋", (100, 280), ["肉牛精料补充料", "奶牛精料补充料", "肉羊精料补充料"],
               ["禾丰", "新希望", "皓月"]),
    "A070203-04": ("袋", (150, 600), ["仔猪复合预混合饲料", "奶牛复合预混合饲料"], ["大北农", "禾丰"]),
    "A070203-05": ("吨", (2200, 4800), ["玉米（饲料原料）", "豆粕（饲料原料）", "全株玉米青贮"],
               ["吉粮", "中粮", "皓月"]),
    "A070203-06": ("袋", (80, 900), ["L-赖氨酸盐酸盐", "复合酶制剂", "枯草芽孢杆菌"], ["梅花", "阜丰", "溢多利"]),
    "A070204-01": ("头", (2500, 9000), ["长白种猪", "大白种猪", "杜洛克种猪"], ["华牧", "吉林精气神", "正大"]),
    "A070204-02": ("头", (18000, 48000), ["西门塔尔种牛", "安格斯种牛", "荷斯坦奶牛（种用）"],
               ["华牧", "皓月", "吉林省畜牧良种"]),
    "A070204-03": ("只", (1800, 6500), ["小尾寒羊种羊", "杜泊种羊", "湖羊种羊"], ["华牧", "吉林省畜牧良种"]),
    "A070204-04": ("只", (8, 45), ["海兰褐父母代种鸡", "AA+父母代肉种鸡", "吉林白鹅种鹅"],
               ["正大", "华牧", "德康"]),
    "A070204-05": ("支", (25, 380), ["西门塔尔牛冷冻精液", "安格斯牛冷冻精液", "荷斯坦牛性控冻精"],
               ["吉林省畜牧良种", "北京首农", "华牧"]),
    "A070507-01": ("桶", (40, 420), ["复合戊二醛溶液", "聚维酮碘溶液", "过硫酸氢钾复合物粉", "二氯异氰尿酸钠粉"],
               ["中牧", "利尔康", "瑞普", "金源"]),
    "A070507-02": ("箱", (80, 900), ["一次性医用防护服", "医用防护口罩", "一次性防护靴套"],
               ["振德", "稳健", "3M"]),
    "A070507-03": ("支", (15, 380), ["兽用连续注射器", "兽用金属注射器", "兽用针头"], ["金源", "华牧"]),
    "A070507-04": ("盒", (60, 2800), ["牛二维码耳标", "猪电子耳标", "耳标识读器"], ["畜安", "中牧"]),
    "A070507-05": ("件", (20, 8800), ["病死畜禽收集袋", "密闭收集箱", "背负式喷雾消毒机"], ["金源", "利尔康"]),
    "A070506-01": ("盒", (800, 3800), ["口蹄疫O型抗体检测试剂盒（ELISA）", "布鲁氏菌抗体检测试剂盒（ELISA）",
                                  "非洲猪瘟抗体检测试剂盒（ELISA）"], ["IDEXX", "中检", "金宇"]),
    "A070506-02": ("盒", (900, 4800), ["非洲猪瘟病毒荧光PCR检测试剂盒", "禽流感病毒H5亚型荧光PCR检测试剂盒"],
               ["中检", "硕世", "金宇"]),
    "A070506-03": ("盒", (120, 900), ["瘦肉精快速检测试纸", "布鲁氏菌抗体胶体金检测卡"], ["中检", "华牧"]),
    "A021005-01": ("台", (18000, 260000), ["荧光定量PCR仪", "全自动核酸提取仪", "酶标仪"],
               ["宏石", "天隆", "Thermo", "伯乐"]),
    "A021005-02": ("台", (3000, 68000), ["生物安全柜（A2级）", "高速冷冻离心机", "生物显微镜"],
               ["海尔", "湘仪", "奥林巴斯"]),
    "A022209-01": ("台", (8000, 160000), ["饲料粉碎机", "饲料混合机", "青贮揉丝机"], ["牧羊", "现代农装", "丰农"]),
    "A022209-02": ("套", (12000, 280000), ["自动喂料系统", "乳头式自动饮水系统"], ["大牧人", "丰农", "牧羊"]),
    "A022209-03": ("台", (30000, 480000), ["管道式挤奶机", "直冷式奶罐"], ["利拉伐", "基伊埃", "丰农"]),
    "A022209-04": ("台", (20000, 320000), ["固液分离机", "有机肥发酵罐", "清粪机器人"], ["丰农", "牧羊", "恒丰"]),
    "A022209-05": ("台", (2000, 60000), ["畜禽舍负压风机", "湿帘降温系统", "热风炉"], ["大牧人", "恒丰"]),
    "A022209-06": ("台", (1500, 26000), ["电动剪毛机", "牛用保定架"], ["丰农", "恒丰"]),
    "A020518-01": ("个", (300, 3800), ["疫苗冷藏箱（25L）", "疫苗冷藏包（5L）"], ["海尔", "澳柯玛", "冷运"]),
    "A020518-02": ("台", (3500, 16000), ["医用冷藏箱（2～8℃，300L）", "医用冷藏箱（2～8℃，100L）"],
               ["海尔", "澳柯玛", "美菱"]),
    "A020518-03": ("台", (6000, 68000), ["-25℃低温保存箱", "-86℃超低温保存箱"], ["海尔", "中科都菱", "美菱"]),
    "A020518-04": ("个", (1800, 16000), ["液氮生物容器（30L）", "液氮运输罐（50L）"], ["四川亚西", "查特", "冷运"]),
    "A020518-05": ("辆", (180000, 420000), ["疫苗冷藏运输车（2～8℃）"], ["江铃", "福田", "解放"]),
    "A020518-06": ("个", (200, 3800), ["冷链温度记录仪", "冷库温湿度监测终端"], ["精创", "海尔", "冷运"]),
}
assert set(PRODUCTS) == set(LEAVES), sorted(set(LEAVES) ^ set(PRODUCTS))

NUMBER_RANGES = {
    "doses_per_vial": [20, 50, 100, 200, 500, 1000], "volume_ml": [20, 50, 100, 250],
    "shelf_life_months": [12, 18, 24], "withdrawal_days": [0, 5, 7, 14, 28],
    "crude_protein_pct": [14, 16, 18, 21, 30, 38], "pack_kg": [20, 25, 40], "content_pct": [50, 70, 98.5],
    "age_months": [6, 8, 12, 18], "weight_kg": [90, 120, 350, 420, 45, 60], "age_days": [1, 120, 150],
    "motile_sperm": [10, 12, 15, 20], "capacity_ml": [2, 5, 20, 50], "pack_qty": [10, 50, 100, 500],
    "tests_per_kit": [48, 96, 192], "warranty_years": [1, 2, 3], "power_kw": [1.5, 5.5, 11, 22, 37],
    "volume_l": [5, 25, 100, 300], "holdover_hours": [48, 72, 120],
}
TEXT_VALUES = {
    "spec": ["100 mL:10 g", "100 g:10 g", "500 g", "1000 mL", "0.1 g×100片", "每袋 1 kg"],
    "pack": ["10瓶/盒", "20袋/箱", "1桶/箱"],
    "storage": ["遮光，密闭，在阴凉处保存"],
    "stage": ["生长育肥期", "产蛋期", "泌乳期", "育成期"],
    "standard": ["GB 13078-2017", "GB 19082-2009", "GB 19083-2010", "Q/HF 001-2024"],
    "size": ["M", "L", "XL", "均码"], "material": ["不锈钢", "尼龙", "聚丙烯"],
    "coding_standard": ["畜禽标识编码规则（农业农村部）"], "throughput": ["96孔", "32样本/批", "8通道"],
    "power_supply": ["AC 220V"], "capacity": ["2 t/h", "5 t/h", "200头/日"],
    "temp_range": ["2～8℃", "-25～-10℃", "-86～-40℃", "-196℃（液氮）"],
    "concentration": ["5%", "10%", "50%"], "target": ["口蹄疫O型抗体", "布鲁氏菌抗体", "非洲猪瘟病毒"],
    "additive_name": ["L-赖氨酸盐酸盐", "复合酶", "枯草芽孢杆菌"],
}


#: per leaf: attribute values that must fit the product (instead of a random choice)
FITTING = {
    "A070505-01": {"species": ["牛羊", "猪"], "antigen": ["O型OHM/02株+A型AKT-III株", "O型Mya98/BY/2010株"]},
    "A070505-02": {"species": ["禽类", "鸡"], "antigen": ["H5N1 Re-13株+H5N6 Re-14株+H7N9 H7-Re4株"]},
    "A070505-03": {"species": ["羊"], "antigen": ["Clone9株"]},
    "A070505-04": {"species": ["牛羊", "羊", "牛"]},
    "A070505-05": {"species": ["羊", "牛羊"], "antigen": ["EG95重组蛋白"]},
    "A070505-06": {"species": ["猪"], "antigen": ["C株（兔化弱毒株）"]},
    "A070505-07": {"species": ["猪"]},
    "A070505-08": {"species": ["鸡"], "antigen": ["La Sota株+H120株"]},
    "A070505-09": {"species": ["犬"], "antigen": ["CVS-11株"]},
    "A070505-10": {"species": ["猪", "羊", "牛"]},
    "A070505-11": {"species": ["猪", "鸡"]},
    "A070203-01": {"species": ["猪", "肉禽", "蛋禽"]}, "A070203-02": {"species": ["猪", "肉牛"]},
    "A070203-03": {"species": ["肉牛", "奶牛", "羊"]}, "A070203-04": {"species": ["猪", "奶牛"]},
    "A070204-01": {"sex": ["公", "母"]}, "A070204-05": {"species": ["牛"], "dosage_form": ["细管"]},
    "A070506-01": {"species": ["牛羊", "猪"], "method": ["ELISA"]},
    "A070506-02": {"species": ["猪", "禽类"], "method": ["荧光PCR"]},
    "A070506-03": {"species": ["猪", "牛羊"], "method": ["胶体金"]},
    "A020518-01": {"equipment_type": ["疫苗冷藏箱", "疫苗冷藏包"]},
    "A020518-02": {"equipment_type": ["医用冷藏箱（2～8℃）"]},
    "A020518-03": {"equipment_type": ["低温冰箱", "超低温冰箱"]},
    "A020518-04": {"equipment_type": ["液氮罐"]}, "A020518-05": {"equipment_type": ["冷藏车"]},
    "A020518-06": {"equipment_type": ["温度记录仪"]},
}


def attribute_values(code: str, product: str, supplier_no: int) -> dict:
    values: dict = {}
    fitting = FITTING.get(code, {})
    for a in BY_CODE[code]["attributes"] or []:
        key, typ = a["key"], a["type"]
        if key in fitting:
            values[key] = rng.choice(fitting[key])
        elif key == "vaccine_type":
            values[key] = next((t for t in a["choices"] if t in product), "其他")
        elif key == "storage_temp" and "storage_temp" in values:
            pass
        elif key == "storage_temp" and code.startswith("A070505"):
            values[key] = "-15℃以下" if "活疫苗" in product else "2～8℃"
        elif typ == "choice":
            values[key] = rng.choice(a["choices"])
        elif typ == "bool":
            values[key] = True if a.get("required") else rng.random() < 0.6
        elif typ == "number":
            values[key] = rng.choice(NUMBER_RANGES.get(key, [1, 2, 5, 10]))
        elif key in ("approval_no",):
            kind = "兽药生字" if cold(code) else "兽药字"
            values[key] = f"{kind}（{rng.randint(2019, 2025)}）22{rng.randint(1000000, 9999999)}"
        elif key in ("license_no", "breeding_license"):
            prefix = "吉饲证" if key == "license_no" else "吉种畜禽证"
            values[key] = f"{prefix}（{rng.randint(2021, 2025)}）{rng.randint(10000, 99999)}"
        elif key == "antigen":
            values[key] = product.split("（")[-1].rstrip("）") if "株" in product else "国家标准毒株"
        elif key == "generic_name":
            values[key] = product
        elif key in ("breed", "machine_type", "equipment_type", "item_type", "instrument_type"):
            values[key] = product.replace("种用", "").split("（")[0]
        elif key == "sire_no":
            values[key] = f"2220{rng.randint(10000, 99999)}"
        elif key == "product_approval":
            values[key] = f"吉饲预字（{rng.randint(2021, 2025)}）{rng.randint(1000, 9999)}"
        else:
            values[key] = rng.choice(TEXT_VALUES.get(key, [product]))
    # stored as emall stores them: text, numbers canonical, booleans "true" / "false"
    out = {}
    for k, v in values.items():
        if isinstance(v, bool):
            out[k] = "true" if v else "false"
        elif isinstance(v, (int, float)):
            out[k] = format(Decimal(str(v)).normalize(), "f")
        else:
            out[k] = v
    return out


def main() -> None:
    out: dict[str, list[dict]] = {}

    # -- organisations ------------------------------------------------------------------------
    orgs = []
    for key, (name, typ, region, parent, size, address) in ORGS.items():
        kind = {"competent_unit": "11", "purchaser": "12", "supplier": "91"}[typ]
        orgs.append({"id": key, "name": name, "credit_code": credit_code(kind, region),
                     "org_type": typ, "region_id:ref": f"core.region_{region}",
                     "parent_id:ref": parent or "", "size": size or "", "address": address,
                     "contact": person(), "phone": phone(region), "active": "true"})
    # a supplier that applied and waits for the institution's decision
    orgs.append({"id": PENDING_SUPPLIER, "name": "吉林市惠民兽药连锁有限公司",
                 "credit_code": credit_code("91", "220203"), "org_type": "supplier",
                 "region_id:ref": "core.region_220203", "parent_id:ref": "", "size": "micro",
                 "address": "吉林省吉林市龙潭区遵义东路188号", "contact": person(),
                 "phone": phone("220203"), "active": "true"})
    out["erp_organization.livestock.csv"] = orgs

    out["emall_livestock_purchaser.csv"] = [
        {"id": f"lp_{key}", "organization_id:ref": org_ref(key), "include_subordinates": "true",
         "active": "true", "note": note}
        for key, note in (("cu_cc_livestock", "长春市畜牧兽医系统（含下属疫控中心、县区站所）"),
                          ("cu_jl_livestock", "吉林市畜牧兽医系统（含下属疫控中心、县区站所）"),
                          ("cu_yb_livestock", "延边州畜牧兽医系统"))
    ]

    # -- admissions ---------------------------------------------------------------------------
    answers = {"license": "营业执照（已上传）", "civil_liability": True, "good_credit": True,
               "performance_capacity": True, "tax_social_security": True,
               "no_major_violation": True, "not_blacklisted": True, "price_commitment": True,
               "after_sales": True, "bank_account": "基本存款账户信息（已上传）"}
    admissions, adm_cats = [], []
    applied = dt.datetime(2025, 2, 17, 9, 30)
    for i, (sup, (depts, _)) in enumerate(SUPPLIERS.items()):
        status = ADMISSION_STATUS.get(sup, "admitted")
        applied_at = applied + dt.timedelta(days=3 * i, hours=i % 5)
        decided = applied_at + dt.timedelta(days=5)
        admissions.append({
            "id": f"adm_{sup}", "supplier_id:ref": org_ref(sup), "status": status,
            "answers": json.dumps(answers, ensure_ascii=False), "contact": person(),
            "phone": phone(ORG_REGION[sup]), "applied_at": applied_at.isoformat(sep="T"),
            "decided_at": decided.isoformat(sep="T"), "decided_by": "agency",
            "reason": ("未按承诺时限提供售后服务，暂停至整改完成" if status == "suspended" else ""),
            "suspended_until": ("2025-12-31" if status == "suspended" else ""),
        })
        for d in depts:
            adm_cats.append({"id": f"admcat_{sup}_{d.lower()}", "admission_id:ref": f"adm_{sup}",
                             "category_id:ref": XMLID[d]})
    admissions.append({
        "id": f"adm_{PENDING_SUPPLIER}", "supplier_id:ref": PENDING_SUPPLIER, "status": "applied",
        "answers": json.dumps(answers, ensure_ascii=False), "contact": person(),
        "phone": phone("220203"), "applied_at": "2025-11-24T10:15:00", "decided_at": "",
        "decided_by": "", "reason": "", "suspended_until": "",
    })
    adm_cats.append({"id": f"admcat_{PENDING_SUPPLIER}_xm02", "admission_id:ref":
                     f"adm_{PENDING_SUPPLIER}", "category_id:ref": XMLID["A070504"]})
    out["emall_admission.livestock.csv"] = admissions
    out["emall_admission_category.livestock.csv"] = adm_cats

    # -- listings -----------------------------------------------------------------------------
    listings, listing_regions = [], []
    sellers: dict[str, list[str]] = {}
    for sup, (depts, _) in SUPPLIERS.items():
        for d in depts:
            sellers.setdefault(d, []).append(sup)
    seen_models: set[tuple[str, str, str]] = set()
    listing_info: dict[str, dict] = {}
    n = 0
    for code in LEAVES:
        unit, (low, high), names, brands = PRODUCTS[code]
        dept = department(code)
        for k in range(7):
            sup = sellers[dept][k % len(sellers[dept])]
            product = names[k % len(names)]
            brand = brands[(k + len(sup)) % len(brands)]
            while True:
                model = f"{brand[:1].upper() if brand.isascii() else 'XM'}-{rng.randint(100, 9999)}"
                if (sup, normalise(brand), normalise(model)) not in seen_models:
                    seen_models.add((sup, normalise(brand), normalise(model)))
                    break
            n += 1
            reference = money(Decimal(rng.randint(low * 100, high * 100)) / 100)
            # most at or a few per cent below the reference; a handful exactly at it
            discount = Decimal(rng.choice([0, 0, 2, 3, 5, 8, 10, 12])) / 100
            price = money(reference * (1 - discount))
            status = "listed"
            roll = rng.random()
            if roll < 0.05:
                status = "draft"
            elif roll < 0.09:
                status = "review"
            elif roll < 0.13:
                status = "delisted"
            if sup == "sup_yb_hengfeng" and status == "listed":
                status = "delisted"  # suspended supplier: listings taken down
            is_cold = cold(code)
            attrs = attribute_values(code, product, n)
            name = f"{product}"
            created = dt.datetime(2025, 3, 1, 9) + dt.timedelta(days=rng.randint(0, 200),
                                                                minutes=rng.randint(0, 600))
            xmlid = f"lst_{n:04d}"
            cat_name = BY_CODE[code]["name"]
            # emall's search text: the normalised parts joined by "|"
            parts = [name, brand, model, cat_name,
                     *(v for v in attrs.values() if v not in ("true", "false"))]
            search = "|".join(normalise(p) for p in parts if p)
            listings.append({
                "id": xmlid, "supplier_id:ref": org_ref(sup), "category_id:ref": XMLID[code],
                "pavilion": "livestock", "name": name, "brand": brand, "model": model,
                "brand_key": normalise(brand), "model_key": normalise(model),
                "description": f"{brand}{product}，{cat_name}。供应商{('全程冷链配送，' if is_cold else '')}"
                               f"按合同约定送货上门。",
                "attributes": json.dumps(attrs, ensure_ascii=False), "unit": unit,
                "price": fmt(price), "reference_price": fmt(reference),
                "reference_source": rng.choice(["manufacturer", "manufacturer", "market"]),
                "reference_url": "", "stock": str(rng.choice([0, 20, 50, 80, 120, 200, 500])
                                                  if unit not in ("台", "辆", "头", "套") else
                                                  rng.choice([2, 5, 8, 12, 20])),
                "cold_chain": "true" if is_cold else "false", "exclusive_model": "false",
                "status": status, "review_note": "",
                "search_text": search, "created_at": created.isoformat(sep="T"),
                "updated_at": created.isoformat(sep="T"),
                "listed_at": ((created + dt.timedelta(days=2)).isoformat(sep="T")
                              if status in ("listed", "delisted") else ""),
            })
            regions = SUPPLIERS[sup][1] if is_cold else ["220000"]
            for r in regions:
                listing_regions.append({"id": f"{xmlid}_r{r}", "listing_id:ref": xmlid,
                                        "region_id:ref": f"core.region_{r}"})
            listing_info[xmlid] = {"supplier": sup, "code": code, "price": price,
                                   "reference": reference, "unit": unit, "name": name,
                                   "brand": brand, "model": model, "status": status,
                                   "cold": is_cold, "regions": regions}
    out["emall_listing.livestock.csv"] = listings
    out["emall_listing_region.livestock.csv"] = listing_regions

    # -- orders in every state ----------------------------------------------------------------
    buyers = ["pur_cc_adc", "pur_cc_nongan", "pur_cc_shuangyang", "cu_cc_livestock",
              "pur_jl_adc", "pur_jl_yongji", "cu_jl_livestock", "pur_yb_adc"]
    states = (["paid"] * 10 + ["accepted"] * 6 + ["delivered"] * 4 + ["shipped"] * 4
              + ["confirmed"] * 4 + ["placed"] * 5 + ["cancelled"] * 4 + ["disputed"] * 3)
    orders, lines, acceptances, contracts, payments = [], [], [], [], []
    listed = [x for x, i in listing_info.items() if i["status"] == "listed"]

    def covers(info: dict, region: str) -> bool:
        return any(region == r or region.startswith(r.rstrip("0")) for r in info["regions"])

    for i, state in enumerate(states):
        buyer = buyers[i % len(buyers)]
        region = ORG_REGION[buyer]
        # one supplier per order; its listings that deliver to the buyer's region
        for _ in range(50):
            first = rng.choice(listed)
            sup = listing_info[first]["supplier"]
            if covers(listing_info[first], region):
                break
        pool = [x for x in listed if listing_info[x]["supplier"] == sup
                and covers(listing_info[x], region) and x != first]
        chosen = [first, *rng.sample(pool, min(len(pool), rng.choice([0, 1, 2])))]
        # dates: placed in the past, each step on a working day
        days_back = {"paid": 120, "accepted": 60, "delivered": 30, "shipped": 20, "confirmed": 12,
                     "placed": 3, "cancelled": 40, "disputed": 45}[state]
        placed = workday(AS_OF - dt.timedelta(days=days_back + rng.randint(0, 40 if state in
                                                                            ("paid", "accepted") else 6)))
        number = f"XMDD{placed:%Y%m%d}{i + 1:04d}"
        amount = Decimal("0.00")
        oid = f"ord_{i + 1:03d}"
        for j, x in enumerate(chosen):
            info = listing_info[x]
            qty = rng.choice([1, 2, 3, 5, 10, 20]) if info["unit"] not in ("辆", "台", "套") else 1
            line_amount = money(info["price"] * qty)
            amount += line_amount
            lines.append({
                "id": f"{oid}_l{j + 1}", "order_id:ref": oid, "listing_id:ref": x,
                "category_id:ref": XMLID[info["code"]], "supplier_id:ref": org_ref(sup),
                "purchaser_id:ref": org_ref(buyer), "region_id:ref": f"core.region_{region}",
                "name": info["name"], "brand": info["brand"], "model": info["model"],
                "unit": info["unit"], "quantity": str(qty), "unit_price": fmt(info["price"]),
                "listed_price": fmt(info["price"]), "reference_price": fmt(info["reference"]),
                "amount": fmt(line_amount), "cold_chain": "true" if info["cold"] else "false",
            })
        steps = ["placed", "confirmed", "shipped", "delivered", "accepted", "paid"]
        reached = {"cancelled": "placed", "disputed": "delivered"}.get(state, state)
        upto = steps[: steps.index(reached) + 1]
        confirmed = add_workdays(placed, 1) if "confirmed" in upto else None
        shipped = add_workdays(confirmed, 2) if "shipped" in upto else None
        delivered = add_workdays(shipped, 2) if "delivered" in upto else None
        accepted = add_workdays(delivered, 3) if "accepted" in upto else None
        due = add_workdays(accepted, 10) if accepted else None
        paid = add_workdays(accepted, rng.randint(3, 9)) if "paid" in upto else None
        row = {
            "id": oid, "number": number, "purchaser_id:ref": org_ref(buyer),
            "supplier_id:ref": org_ref(sup), "region_id:ref": f"core.region_{region}",
            "channel": "direct", "pricing": "listing", "source_ref": "",
            "amount": fmt(amount), "status": state,
            "delivery_address": ORGS[buyer][5] if buyer in ORGS else "吉林省延边朝鲜族自治州延吉市友谊路1335号",
            "contact": person(), "phone": phone(region),
            "note": "疫苗等生物制品请全程冷链配送，随货附温度记录" if any(
                listing_info[x]["cold"] for x in chosen) else "",
            "placed_at": at(placed, 9, rng.randint(0, 59)),
            "confirmed_at": at(confirmed, 10) if confirmed else "",
            "shipped_at": at(shipped, 14) if shipped else "",
            "tracking": f"SF{rng.randint(10**11, 10**12 - 1)}" if shipped else "",
            "delivered_at": at(delivered, 11) if delivered else "",
            "accepted_on": accepted.isoformat() if accepted else "",
            "payment_due": due.isoformat() if due else "",
            "paid_on": paid.isoformat() if paid else "",
            "payment_ref": f"GK{paid:%Y%m%d}{i:04d}" if paid else "",
            "cancelled_at": at(add_workdays(placed, 1), 16) if state == "cancelled" else "",
            "disputed_from": "delivered" if state == "disputed" else "",
            "contract_id:ref": "",
        }
        if accepted:
            cid = f"ct_{oid}"
            contracts.append({
                "id": cid, "number": f"HT-{number}", "source": "emall", "order_ref": number,
                "purchaser_id:ref": org_ref(buyer), "supplier_id:ref": org_ref(sup),
                "region_id:ref": f"core.region_{region}", "amount": fmt(amount),
                "signed_date": placed.isoformat(), "sme_label": SUPPLIER_SIZE[sup] if
                SUPPLIER_SIZE[sup] in ("medium", "small", "micro") else "none",
                "status": "completed" if paid else "performing",
            })
            row["contract_id:ref"] = cid
            acceptances.append({
                "id": f"acc_{oid}", "order_id:ref": oid, "supplier_id:ref": org_ref(sup),
                "purchaser_id:ref": org_ref(buyer), "region_id:ref": f"core.region_{region}",
                "accepted_on": accepted.isoformat(), "inspectors": f"{person()}、{person()}",
                "quantity_ok": "true", "quality_ok": "true",
                "note": "数量、规格与订单一致；冷链温度记录完整（2～8℃）" if any(
                    listing_info[x]["cold"] for x in chosen) else "数量、规格与订单一致",
                "recorded_by": "xm_purchaser",
            })
            if paid:
                payments.append({"id": f"pay_{oid}", "contract_id:ref": cid,
                                 "region_id:ref": f"core.region_{region}",
                                 "paid_date": paid.isoformat(), "amount": fmt(amount),
                                 "reference": row["payment_ref"]})
        orders.append(row)
    out["pb_contract.livestock.csv"] = contracts
    out["emall_order.livestock.csv"] = orders
    out["emall_order_line.livestock.csv"] = lines
    out["emall_acceptance.livestock.csv"] = acceptances
    out["pb_payment.livestock.csv"] = payments

    for name, rows in out.items():
        path = HERE / name
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        print(f"{name}: {len(rows)} rows")


#: load order of the generated files (the manifest's ``demo`` list)
FILES = [
    "erp_organization.livestock.csv", "emall_livestock_purchaser.csv",
    "emall_admission.livestock.csv", "emall_admission_category.livestock.csv",
    "emall_listing.livestock.csv", "emall_listing_region.livestock.csv",
    "pb_contract.livestock.csv", "emall_order.livestock.csv", "emall_order_line.livestock.csv",
    "emall_acceptance.livestock.csv", "pb_payment.livestock.csv",
]

if __name__ == "__main__":
    main()
