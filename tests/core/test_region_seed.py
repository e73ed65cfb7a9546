"""Consistency checks for the Jilin administrative-region seed (core/data/erp_region.csv).

Stdlib only; no application context needed. Expected counts mirror docs/regions.md.
"""

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

CSV_PATH = Path(__file__).resolve().parents[2] / "core" / "data" / "erp_region.csv"
HEADER = ["id", "code", "name", "short_name", "level", "parent_id:ref", "active"]
PROVINCE_CODE = "220000"

# Must match the table in docs/regions.md.
EXPECTED_COUNTIES = {
    "220100": 11,  # 长春市 (incl. 公主岭市 220184 since 2020)
    "220200": 9,  # 吉林市
    "220300": 5,  # 四平市
    "220400": 4,  # 辽源市
    "220500": 7,  # 通化市
    "220600": 6,  # 白山市
    "220700": 5,  # 松原市
    "220800": 5,  # 白城市
    "222400": 8,  # 延边朝鲜族自治州
}
EXPECTED_COUNTY_TOTAL = 60


@pytest.fixture(scope="module")
def raw_text():
    return CSV_PATH.read_bytes().decode("utf-8")


@pytest.fixture(scope="module")
def rows(raw_text):
    out = list(csv.DictReader(raw_text.splitlines()))
    for r in out:  # the loader's reference column holds the parent's external id
        r["parent_code"] = r["parent_id:ref"].removeprefix("region_")
    return out


@pytest.fixture(scope="module")
def by_code(rows):
    return {r["code"]: r for r in rows}


def test_encoding_and_header(raw_text):
    assert not raw_text.startswith("\ufeff"), "file must not start with a BOM"
    header = next(csv.reader(raw_text.splitlines()))
    assert header == HEADER


def test_codes_six_digits_and_unique(rows):
    codes = [r["code"] for r in rows]
    assert all(re.fullmatch(r"\d{6}", c) for c in codes), codes
    dupes = [c for c, n in Counter(codes).items() if n > 1]
    assert not dupes, dupes


def test_no_pseudo_city_district_codes(rows):
    # "市辖区" placeholders (xxxx01 under a prefecture-level city) are not regions.
    for r in rows:
        assert r["name"] != "市辖区"
        if r["level"] == "county" and r["parent_code"] != "222400":
            assert not r["code"].endswith("01"), r


def test_ids_are_region_code(rows):
    for r in rows:
        assert r["id"] == f"region_{r['code']}"


def test_names_present(rows):
    for r in rows:
        assert r["name"].strip() and r["short_name"].strip(), r
        assert len(r["short_name"]) <= len(r["name"]), r


def test_levels_valid(rows):
    assert {r["level"] for r in rows} <= {"province", "prefecture", "county"}


def test_parent_codes_exist(rows, by_code):
    for r in rows:
        if r["parent_code"]:
            assert r["parent_code"] in by_code, r


def test_province(rows):
    provinces = [r for r in rows if r["level"] == "province"]
    assert len(provinces) == 1
    p = provinces[0]
    assert p["code"] == PROVINCE_CODE
    assert p["name"] == "吉林省"
    assert p["parent_code"] == ""
    assert all(r["parent_code"] for r in rows if r is not p)


def test_prefectures(rows):
    prefectures = [r for r in rows if r["level"] == "prefecture"]
    assert len(prefectures) == 9
    assert {r["code"] for r in prefectures} == set(EXPECTED_COUNTIES)
    for r in prefectures:
        assert r["parent_code"] == PROVINCE_CODE
        assert r["code"].endswith("00")


def test_county_prefix_rule(rows, by_code):
    for r in rows:
        if r["level"] != "county":
            continue
        parent = by_code[r["parent_code"]]
        assert parent["level"] == "prefecture", r
        assert r["code"][:4] == parent["code"][:4], r
        assert r["code"][4:] != "00", r


def test_gongzhuling_under_changchun(by_code):
    gzl = by_code["220184"]
    assert gzl["name"] == "公主岭市"
    assert gzl["parent_code"] == "220100"
    assert "220381" not in by_code  # pre-2020 code under 四平市


def test_county_counts(rows):
    counts = Counter(r["parent_code"] for r in rows if r["level"] == "county")
    assert dict(counts) == EXPECTED_COUNTIES
    assert sum(counts.values()) == EXPECTED_COUNTY_TOTAL
    assert len(rows) == 1 + 9 + EXPECTED_COUNTY_TOTAL
