# ruff: noqa: F811  (pytest fixtures imported from the worlds)
"""OCDS 1.1.5: a release package per notice, a compiled record per project, a framework
call-off linked to its agreement, bulk packages per region and month (API and CLI); every
package produced validates against the vendored schema; an inverted range is a clear error."""

from __future__ import annotations

import json

from core.db import db
from tests.addons.notice_hub.nh_world import draft, nh, pb, submit  # noqa: F401
from tests.conftest import cli


def _valid(kind: str, doc: dict) -> None:
    from addons.notice_hub.ocds import validator

    errors = sorted(validator(kind).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def _publish_all(w) -> list[int]:
    from sqlalchemy import select

    from addons.notice_hub import services
    from addons.notice_hub.models import Notice

    with w.app.app_context():
        ids = []
        for n in db.session.scalars(select(Notice).where(Notice.status == "draft").order_by(Notice.id)):
            services.publish(db.session, n, actor="test")
            ids.append(n.id)
        db.session.commit()
        return ids


def test_release_and_record_packages_validate(nh):
    ids = nh.signed_contract("CC-2025-201")
    award_id, contract_id = _publish_all(nh)
    client = nh.app.test_client()  # anonymous
    pkg = client.get(f"/ocds/releases/{award_id}.json").json
    _valid("release-package", pkg)
    rel = pkg["releases"][0]
    assert rel["tag"] == ["award"] and rel["ocid"].endswith(f"pb-project-{ids['project']}")
    assert rel["tender"]["procurementMethod"] == "open"
    assert rel["tender"]["procurementMethodDetails"] == "公开招标"
    assert rel["awards"][0]["value"] == {"amount": 550000.0, "currency": "CNY"}
    supplier = [p for p in rel["parties"] if "supplier" in p["roles"]][0]
    assert supplier["identifier"]["scheme"] == "CN-USCC" and supplier["id"] == f"CN-USCC-{nh.code['sup_a']}"
    contract = client.get(f"/ocds/releases/{contract_id}.json").json
    _valid("release-package", contract)
    assert contract["releases"][0]["tag"] == ["contract"]
    # the project's record compiles both notices
    rec = client.get(f"/ocds/records/{rel['ocid']}.json").json
    _valid("record-package", rec)
    compiled = rec["records"][0]["compiledRelease"]
    assert compiled["tag"] == ["compiled"] and len(rec["records"][0]["releases"]) == 2
    assert compiled["contracts"][0]["status"] == "active" and len(compiled["awards"]) == 2
    # an unpublished or unknown notice is not there
    assert client.get("/ocds/releases/999999.json").status_code == 404
    assert client.get("/ocds/records/nope.json").status_code == 404


def test_framework_call_off_links_its_agreement(nh):
    ref = submit(nh, draft(nh, kind="framework_deal", source_id=31, title="办公设备框架协议第 3 次成交结果公告",
                           data={"process": "fa-calloff-3", "method": "framework_agreement",
                                 "related_processes": [{"ocid": "ocds-jlgp00-fa-agreement-1",
                                                        "relationship": ["framework"],
                                                        "title": "办公设备框架协议"}]}))
    _publish_all(nh)
    pkg = nh.app.test_client().get(f"/ocds/releases/{ref.notice_id}.json").json
    _valid("release-package", pkg)
    rp = pkg["releases"][0]["relatedProcesses"][0]
    assert rp["relationship"] == ["framework"] and rp["identifier"] == "ocds-jlgp00-fa-agreement-1"


def test_bulk_package_per_region_and_month_and_cli_export(nh, tmp_path):

    nh.signed_contract("CC-2025-202")
    _publish_all(nh)
    from addons.notice_hub.services import today

    month = today().strftime("%Y-%m")  # publication times are Beijing time
    client = nh.app.test_client()
    res = client.get(f"/ocds/bulk/220100/{month}.json")
    assert res.status_code == 200
    doc = json.loads(res.get_data(as_text=True))
    _valid("release-package", doc)
    assert len(doc["releases"]) == 2
    assert json.loads(client.get(f"/ocds/bulk/220200/{month}.json").get_data(as_text=True))["releases"] == []
    assert client.get("/ocds/bulk/999999/2025-01.json").status_code == 400
    assert "格式不正确" in client.get("/ocds/bulk/220100/2025-13.json").json["message"]
    # the CLI: one file per region and month, each valid
    day = today().isoformat()
    out = tmp_path / "ocds"
    res = cli(nh.app, "ocds", "export", "--from", day, "--to", day, "--out", str(out))
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in out.iterdir())
    assert files == [f"ocds-220102-{month}.json"]
    _valid("release-package", json.loads((out / files[0]).read_text(encoding="utf-8")))
    # an inverted range: a clear error, nothing written
    res = cli(nh.app, "ocds", "export", "--from", "2025-03-31", "--to", "2025-01-01",
              "--out", str(tmp_path / "bad"))
    assert res.exit_code != 0 and "不能晚于结束日期" in res.output
    assert not (tmp_path / "bad").exists()
