"""The module's record actions, declared once in ``addons/expert_credit/actions.py``
(core.actions): the same API paths and bodies as before (with generated OpenAPI), and on the
show pages the buttons and forms only for the users who may run them; the answers and pages
keep the disclosure rules (names hidden from the purchaser before the award, no ID number)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core.db import db
from tests.addons.expert_credit.ec_world import PASSWORD, ec, pb  # noqa: F401
from tests.addons.expert_credit.test_ec_api import _users
from tests.addons.expert_credit.test_ec_assignment_page import _drawn, _token
from tests.core.test_web import login_form


def _client(ec, user: str):  # noqa: F811
    client = ec.pb.app.test_client()
    login_form(client, user, PASSWORD)
    return client


def _post(client, show: str, action: str, data: dict | None = None) -> str:
    token = _token(client.get(show).get_data(as_text=True))
    res = client.post(action, data={**(data or {}), "csrf_token": token}, follow_redirects=True)
    assert res.status_code == 200, (action, res.status_code)
    return res.get_data(as_text=True)


def test_openapi_of_the_declared_actions(ec) -> None:  # noqa: F811
    spec = ec.pb.call("GET", "_openapi", expect=200).json

    def body(path: str) -> set[str]:
        op = spec["paths"][f"/api/v1/{path}"]["post"]
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return set(spec["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"])

    op = spec["paths"]["/api/v1/ec_expert/{pk}/transition/{name}"]["post"]
    names = next(p for p in op["parameters"] if p["name"] == "name")["schema"]["enum"]
    assert set(names) == {"suspend", "dismiss", "reinstate"}
    assert body("ec_expert/{pk}/transition/{name}") == {"until", "reason"}
    for name in ("draw", "close"):
        assert "requestBody" not in spec["paths"][f"/api/v1/ec_draw_request/{{pk}}/{name}"]["post"]
    assert body("ec_assignment/{pk}/respond") == {"accept", "reason"}
    criteria = {"ethics", "competence", "discipline", "integrity"}
    assert body("ec_evaluation/{pk}/submit") == criteria | {"remarks"}
    assert body("ec_evaluation/{pk}/appeal") == {"reason"}
    assert body("ec_evaluation/{pk}/decide") == criteria | {"remarks", "decision", "note"}


def test_expert_status_by_api_and_page_for_managers_only(ec) -> None:  # noqa: F811
    from addons.expert_credit.models import Expert
    from core.models import AuditLog

    _users(ec)
    eid = ec.expert("状态专家")
    w = ec.pb
    path = f"ec_expert/{eid}/transition/suspend"
    w.call("POST", path, "auditor", {"until": "2030-01-01", "reason": "x"}, expect=403)
    res = w.call("POST", path, "ec_mgr", {"reason": "违规"}, expect=422)
    assert res.json["message"] == {"until": ["请填写暂停截止日期"]}
    res = w.call("POST", path, "ec_mgr", {"until": "2030-01-01", "reason": "违规"}, expect=200)
    assert res.json["result"] == {"id": eid, "status": "suspended", "status_label": "暂停",
                                  "suspended_until": "2030-01-01"}
    # the page: the manager's buttons, none for the auditor (who reads the expert)
    show = f"/expertview/show/{eid}"
    auditor = _client(ec, "auditor").get(show).get_data(as_text=True)
    assert "状态专家" in auditor and "data-action=" not in auditor
    mgr = _client(ec, "ec_mgr")
    html = mgr.get(show).get_data(as_text=True)
    assert 'data-action="reinstate"' in html and 'data-action="dismiss"' in html
    html = _post(mgr, show, f"/expertview/transition/{eid}/reinstate")
    assert "专家状态已变更为“正常”" in html
    html = _post(mgr, show, f"/expertview/transition/{eid}/dismiss", {"reason": ""})
    assert "未完成" in html
    with ec.app.app_context():
        assert db.session.get(Expert, eid).status == "active"
        actions = [a for (a,) in db.session.execute(select(AuditLog.action).where(
            AuditLog.object_type == "ec_expert", AuditLog.object_id == str(eid)).order_by(AuditLog.id))]
        assert actions == ["transition:suspend", "transition:reinstate"]


def test_draw_and_close_from_the_request_page(ec) -> None:  # noqa: F811
    from addons.expert_credit import services as s
    from addons.expert_credit.models import DrawRequest
    from tests.addons.expert_credit.ec_world import request

    _users(ec)
    for _ in range(3):
        ec.expert()
    rid = request(ec, count=1, reserves=1)
    show = f"/drawrequestview/show/{rid}"
    pur = _client(ec, "pur")
    html = pur.get(show).get_data(as_text=True)
    assert "data-action=" not in html
    token = _token(pur.get("/drawrequestview/list/").get_data(as_text=True))
    assert pur.post(f"/drawrequestview/draw/{rid}", data={"csrf_token": token}).status_code == 403
    agency = _client(ec, "agency")
    html = agency.get(show).get_data(as_text=True)
    assert 'data-action="draw"' in html and "开始抽取" in html
    assert 'data-action="close"' not in html  # nothing drawn yet
    orig = s.common.today
    s.common.today = lambda: dt.date(2025, 3, 24)
    try:
        html = _post(agency, show, f"/drawrequestview/draw/{rid}")
        assert "抽取完成" in html and "补充抽取" in html and 'data-action="close"' in html
        html = _post(agency, show, f"/drawrequestview/close/{rid}")
        assert "抽取已结束" in html and "data-action=" not in html
    finally:
        s.common.today = orig
    with ec.app.app_context():
        req = db.session.get(DrawRequest, rid)
        assert req.status == "closed" and len(req.draws) == 1


def test_evaluation_actions_per_role_and_names_stay_hidden(ec) -> None:  # noqa: F811
    from addons.expert_credit import services as s
    from addons.expert_credit.models import Assignment, Evaluation

    aid, _, _ = _drawn(ec)
    with ec.app.app_context():
        s.respond(db.session, db.session.get(Assignment, aid), True)
        db.session.commit()
        evid = db.session.execute(select(Evaluation.id).where(
            Evaluation.assignment_id == aid)).scalar_one()
    show = f"/evaluationview/show/{evid}"
    pur = _client(ec, "pur")
    html = pur.get(show).get_data(as_text=True)
    assert 'data-action="submit"' in html and 'data-action="appeal"' not in html
    assert "我本人" not in html and s.HIDDEN_NAME in html  # before the award notice
    html = _post(pur, show, f"/evaluationview/submit/{evid}",
                 {"ethics": "90", "competence": "80", "discipline": "70", "integrity": "100"})
    assert "评价已提交" in html and "82.00" in html and "我本人" not in html
    assert "data-action=" not in html  # the purchaser neither appeals nor decides
    expert = _client(ec, "ec_expert")
    html = expert.get(show).get_data(as_text=True)
    assert 'data-action="appeal"' in html and 'data-action="decide"' not in html
    mgr = _client(ec, "ec_mgr")
    assert "data-action=" not in mgr.get(show).get_data(as_text=True)  # not appealed yet
    html = _post(expert, show, f"/evaluationview/appeal/{evid}", {"reason": "评分与事实不符"})
    assert "申诉已提交" in html
    html = mgr.get(show).get_data(as_text=True)
    assert 'data-action="decide"' in html
    html = _post(mgr, show, f"/evaluationview/decide/{evid}",
                 {"decision": "revised", "note": "复核后改分", "ethics": "90", "competence": "90",
                  "discipline": "90", "integrity": "90"})
    assert "申诉已处理" in html
    with ec.app.app_context():
        ev = db.session.get(Evaluation, evid)
        assert (ev.status, str(ev.total)) == ("decided", "90.00")
