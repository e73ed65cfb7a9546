"""The livestock pavilion's catalog seed: loaded with external ids on the procurement
catalog codes (referenced, never duplicated), attribute templates that emall accepts, cold
chain on biologics, and the institution's edits survive an upgrade (noupdate)."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from core.db import db
from core.models import ModuleRecord
from tests.conftest import installer, query

DEPARTMENTS = {
    "A070505": "兽用生物制品（疫苗）",
    "A070504": "兽药",
    "A070203": "饲料及饲料添加剂",
    "A070204": "种畜禽",
    "A070507": "消毒剂及防疫用品",
    "A070506": "兽医诊断检测试剂",
    "A021005": "兽医检测仪器",
    "A022209": "畜牧机械",
    "A020518": "冷链设备",
}


def _install(app) -> None:
    assert "emall_livestock" in installer(app).install(["emall_livestock"])


def _cats(app) -> dict[str, tuple]:
    rows = query(app, "SELECT c.code, c.name, c.pavilion, c.requires_cold_chain, c.attributes, "
                      "p.code, pc.code, c.active FROM emall_category c "
                      "LEFT JOIN emall_category p ON p.id = c.parent_id "
                      "LEFT JOIN pb_catalog pc ON pc.id = c.pb_catalog_id "
                      "WHERE c.pavilion = 'livestock'")
    out = {}
    for code, name, pav, cold, attrs, parent, pb, active in rows:
        if isinstance(attrs, str):
            attrs = json.loads(attrs)
        out[code] = (name, pav, bool(cold), attrs or [], parent, pb, bool(active))
    return out


def test_seed_loads_with_external_ids_on_catalog_codes(app):
    _install(app)
    cats = _cats(app)
    for code, name in DEPARTMENTS.items():
        assert cats[code][0] == name and cats[code][4] is None  # top level of the pavilion
        assert cats[code][5] == code  # the government catalog item of the same code
    for code, (_, _, _, _, parent, pb, _) in cats.items():
        if parent is not None:
            assert code.startswith(parent + "-") and pb == parent, code
    # procurement_base's catalog items are referenced, never duplicated
    assert query(app, "SELECT count(*) FROM pb_catalog WHERE code = 'A070505'") == [(1,)]
    names = {v[0] for v in cats.values()}
    for name in ("口蹄疫疫苗", "高致病性禽流感疫苗", "小反刍兽疫疫苗", "布鲁氏菌病疫苗", "猪瘟疫苗",
                 "种猪", "种牛", "种羊", "种禽", "冷冻精液（冻精）", "兽用消毒剂", "畜禽粪污资源化利用设备",
                 "疫苗冷藏箱（包）", "液氮罐"):
        assert name in names, name
    md = dict(query(app, "SELECT name, noupdate FROM erp_model_data "
                         "WHERE module = 'emall_livestock' AND table_name = 'emall_category'"))
    assert len(md) == len(cats) and all(md.values())
    assert "cat_a070505_01" in md


def test_templates_pass_emall_rules_and_cold_chain(app):
    _install(app)
    cats = _cats(app)
    keys = {code: {a["key"] for a in v[3]} for code, v in cats.items()}
    assert {"species", "antigen", "doses_per_vial", "storage_temp"} <= keys["A070505-01"]
    assert {"approval_no", "spec"} <= keys["A070504-01"]
    assert {"feed_type", "crude_protein_pct", "pack_kg"} <= keys["A070203-01"]
    assert {"breed", "age_months", "weight_kg", "quarantine_cert"} <= keys["A070204-01"]
    vaccine = {a["key"]: a for a in cats["A070505-01"][3]}
    assert vaccine["doses_per_vial"]["unit"] == "头份/瓶" and vaccine["doses_per_vial"]["required"]
    # every seed category passes emall's own category rules (codes, templates), so the
    # institution can edit them in the admin UI
    with app.app_context():
        from addons.emall.models import EmallCategory
        from addons.emall.services import validate_category

        for cat in db.session.scalars(select(EmallCategory).where(EmallCategory.pavilion == "livestock")):
            validate_category(db.session, cat)
        db.session.rollback()
    # biologics, diagnostic reagents and frozen semen need the cold chain; drugs and feed do not
    cold = {code for code, v in cats.items() if v[2]}
    assert {"A070505", "A070505-01", "A070505-11", "A070204-05", "A070506", "A070506-01"} <= cold
    assert not cold & {"A070504", "A070504-01", "A070203", "A070204", "A070204-01", "A022209",
                       "A020518", "A021005"}


def test_institution_edits_survive_upgrade(app):
    _install(app)
    ids = dict(query(app, "SELECT code, id FROM emall_category WHERE pavilion = 'livestock'"))
    with app.app_context():
        db.session.execute(text("UPDATE emall_category SET name = '口蹄疫疫苗（O型、A型）', "
                                "sequence = 5 WHERE code = 'A070505-01'"))
        db.session.execute(text("UPDATE emall_category SET active = :f WHERE code = 'A022209-06'"),
                           {"f": False})
        db.session.get(ModuleRecord, "emall_livestock").installed_version = "0.9.0"
        db.session.commit()
    assert "emall_livestock" in installer(app).upgrade(["emall_livestock"])
    cats = _cats(app)
    assert cats["A070505-01"][0] == "口蹄疫疫苗（O型、A型）"  # the institution's edit is kept
    assert cats["A022209-06"][6] is False  # and its deactivation
    # the same rows, updated in place (never re-created)
    assert dict(query(app, "SELECT code, id FROM emall_category WHERE pavilion = 'livestock'")) == ids
