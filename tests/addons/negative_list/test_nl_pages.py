"""The pages and the demo: the publisher checks and resolves, the supervisor reviews, the
province admin reads the statistics; every role has work waiting on its workbench."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from core.db import db
from tests.addons.negative_list import nl_files
from tests.addons.negative_list.nl_world import document, draft_project, findings, nl, pb  # noqa: F401
from tests.conftest import cli, installer
from tests.core.test_web import login_form

PASSWORD = "demo12345"


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    return m.group(1) if m else ""


def test_publisher_and_supervisor_pages(nl) -> None:  # noqa: F811
    w = nl
    p = draft_project(w)
    document(w, p)
    rows = findings(w, p, "pur")
    client = w.app.test_client()
    login_form(client, "pur", "secret123")
    html = client.get(f"/nlfindingview/show/{rows[0]['id']}").get_data(as_text=True)
    assert "注册资本不低于" in html and "说明理由" in html and "修改条款" in html
    assert "认可理由" not in html  # only the supervisor reviews
    assert "None" not in html and "True" not in html
    res = client.post(f"/nlfindingview/act/{rows[0]['id']}/justify",
                      data={"reason": "", "csrf_token": _csrf(html)}, follow_redirects=True)
    assert "保留该条款的理由" in res.get_data(as_text=True)
    res = client.post(f"/nlfindingview/act/{rows[0]['id']}/justify",
                      data={"reason": "依据行业主管部门的特别规定（测试）", "csrf_token": _csrf(html)},
                      follow_redirects=True)
    assert "已说明理由" in res.get_data(as_text=True)
    # upload page: a refused file is shown on its field, nothing written
    page = client.get("/nldocumentview/upload").get_data(as_text=True)
    res = client.post("/nldocumentview/upload", data={
        "project": str(p), "title": "表格", "csrf_token": _csrf(page),
        "file": (io.BytesIO(nl_files.xlsx()), "a.xlsx")}, content_type="multipart/form-data")
    assert res.status_code == 200 and "Excel" in res.get_data(as_text=True)
    res = client.post("/nldocumentview/upload", data={
        "project": str(p), "title": "需求", "csrf_token": _csrf(page),
        "file": (io.BytesIO(nl_files.docx(["第三章 采购需求", "须为一线品牌。"])), "b.docx")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "发现 1 处疑似隐性壁垒" in res.get_data(as_text=True)
    # the supervisor
    sup = w.app.test_client()
    login_form(sup, "auditor", "secret123")
    html = sup.get(f"/nlfindingview/show/{rows[0]['id']}").get_data(as_text=True)
    assert "认可理由" in html and "不认可" in html and "说明理由</button>" not in html
    res = sup.post(f"/nlfindingview/act/{rows[0]['id']}/accept", data={"note": "同意", "csrf_token": _csrf(html)},
                   follow_redirects=True)
    assert "已认可该理由说明" in res.get_data(as_text=True)
    stats = sup.get("/nl-stats/").get_data(as_text=True)
    assert "<svg" in stats and "NL-01" in stats
    xlsx = sup.get("/nl-stats/export/")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_demo_gives_every_role_work(app) -> None:
    inst = installer(app)
    inst.install(["negative_list"], demo=True)
    assert cli(app, "tenant", "enable", "220000", *inst.installed()).exit_code == 0
    res = cli(app, "demo", "users", "--password", PASSWORD)
    assert res.exit_code == 0, res.output
    from addons.negative_list.models import NlFinding

    with app.app_context():
        states = db.session.execute(select(NlFinding.status)).scalars().all()
    assert {"open", "justified", "accepted", "edited"} <= set(states)
    for user, card in (("purchaser", "负面清单检查结果待处理"), ("auditor", "待审核的理由说明"),
                       ("negl_admin", "待评估修订的规则")):
        client = app.test_client()
        login_form(client, user, PASSWORD)
        html = client.get("/workbench/").get_data(as_text=True) if client.get("/workbench/").status_code == 200 \
            else client.get("/").get_data(as_text=True)
        assert card in html, (user, card)
    # the demo project with open findings cannot be published yet
    client = app.test_client()
    login_form(client, "purchaser", PASSWORD)
    from addons.procurement_base.models import Project

    with app.app_context():
        pk = db.session.execute(select(Project.id).where(Project.number == "NLZC2026-001")).scalar_one()
    html = client.get(f"/projectview/show/{pk}").get_data(as_text=True)
    assert "负面清单检查结果尚未处理" in html
