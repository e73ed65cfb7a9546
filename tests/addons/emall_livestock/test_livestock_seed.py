"""The livestock pavilion's catalog seed: loaded with external ids on the procurement
catalog codes, attribute templates valid, cold chain on biologics, and the institution's
edits survive an upgrade (noupdate)."""

from __future__ import annotations

import json

from tests.conftest import installer, query

CATEGORIES = {
    "XM01": "兽用生物制品（疫苗）",
    "XM02": "兽药",
    "XM03": "饲料及饲料添加剂",
    "XM04": "种畜禽",
    "XM05": "消毒剂及防疫用品",
    "XM06": "检测试剂与仪器",
    "XM07": "畜牧机械",
    "XM08": "冷链设备",
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
    assert cats["XM"][4] is None  # the pavilion root
    for code, name in CATEGORIES.items():
        assert cats[code][0] == name and cats[code][4] == "XM"
    # the government catalog codes come from procurement_base, never duplicated
    assert cats["XM01"][5] == "A070505" and cats["XM0101"][5] == "A070505"
    assert cats["XM02"][5] == "A070504"
    assert cats["XM03"][5] == "A070203"
    assert cats["XM04"][5] == "A070204"
    assert cats["XM05"][5] == "A070507"
    assert cats["XM0601"][5] == "A070506" and cats["XM0604"][5] == "A021005"
    assert cats["XM07"][5] == "A022209"
    assert cats["XM08"][5] == "A020518"
    assert query(app, "SELECT count(*) FROM pb_catalog WHERE code = 'A070505'") == [(1,)]
    # every named vaccine and breeding-stock category is there
    names = {v[0] for v in cats.values()}
    for name in ("口蹄疫疫苗", "高致病性禽流感疫苗", "小反刍兽疫疫苗", "布鲁氏菌病疫苗", "猪瘟疫苗",
                 "种猪", "种牛", "种羊", "种禽", "冷冻精液（冻精）"):
        assert name in names
    # external ids of this module, no-update
    md = dict(query(app, "SELECT name, noupdate FROM erp_model_data "
                         "WHERE module = 'emall_livestock' AND table_name = 'emall_category'"))
    assert len(md) == len(cats) and md["cat_xm0101"] and all(md.values())


def test_attribute_templates_and_cold_chain(app):
    _install(app)
    cats = _cats(app)
    keys = {code: {a["key"] for a in v[3]} for code, v in cats.items()}
    assert {"species", "antigen", "doses_per_vial", "storage_temp"} <= keys["XM0101"]
    assert {"approval_no", "spec"} <= keys["XM0201"]
    assert {"feed_type", "crude_protein_pct", "pack_kg"} <= keys["XM0301"]
    assert {"breed", "age_months", "weight_kg", "quarantine_cert"} <= keys["XM0401"]
    for v in cats.values():
        for a in v[3]:
            assert a["type"] in ("text", "number", "choice", "bool"), a
            assert a["label"] and a["key"]
            assert a["type"] != "choice" or a["choices"], a
    vaccine = {a["key"]: a for a in cats["XM0101"][3]}
    assert vaccine["doses_per_vial"]["unit"] == "头份/瓶" and vaccine["doses_per_vial"]["required"]
    # biologics, diagnostic reagents and frozen semen need the cold chain; drugs and feed do not
    cold = {code for code, v in cats.items() if v[2]}
    assert {"XM01", "XM0101", "XM0111", "XM0405", "XM0601", "XM0602", "XM0603"} <= cold
    assert not cold & {"XM02", "XM0201", "XM03", "XM0401", "XM07", "XM08", "XM0604"}


def test_institution_edits_survive_upgrade(app):
    _install(app)
    app_ids = dict(query(app, "SELECT code, id FROM emall_category WHERE pavilion = 'livestock'"))
    with app.app_context():
        from core.db import db

        db.session.execute(db.text(
            "UPDATE emall_category SET name = '口蹄疫疫苗（O型、A型）', sequence = 5 WHERE code = 'XM0101'"))
        db.session.execute(db.text("UPDATE emall_category SET active = :f WHERE code = 'XM0706'"),
                           {"f": False})
        db.session.commit()
    # upgrade: the module reloads its data files
    inst = installer(app)
    with app.app_context():
        from core.db import db
        from core.models import ModuleRecord

        db.session.get(ModuleRecord, "emall_livestock").installed_version = "0.9.0"
        db.session.commit()
    assert "emall_livestock" in inst.upgrade(["emall_livestock"])
    cats = _cats(app)
    assert cats["XM0101"][0] == "口蹄疫疫苗（O型、A型）"  # edit kept
    assert cats["XM0706"][6] is False  # deactivation kept
    # same rows (updated in place, never re-created)
    assert dict(query(app, "SELECT code, id FROM emall_category WHERE pavilion = 'livestock'")) \
        == app_ids
