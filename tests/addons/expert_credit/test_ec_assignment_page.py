"""The expert's 评审任务 page: the assignment's 采购项目 and 抽取申请 are shown (the expert
cannot read the project or the request themselves), and it is accepted or declined with a
button on the assignment, not by typing its number."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from core.db import db
from tests.addons.expert_credit.ec_world import PASSWORD, ec, pb  # noqa: F401
from tests.addons.expert_credit.test_ec_api import _expert_user, _users
from tests.core.test_web import login_form


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _drawn(ec) -> tuple[int, str, int]:  # noqa: F811
    from addons.expert_credit.models import Assignment, Expert
    from tests.addons.expert_credit.ec_world import draw, request

    _users(ec)
    me = ec.expert("我本人")
    _expert_user(ec, me)
    rid = request(ec, count=1)
    with ec.app.app_context():
        db.session.execute(update(Expert).where(Expert.id != me).values(status="dismissed"))
        db.session.commit()
    _, picks = draw(ec, rid)
    assert picks == [me]
    with ec.app.app_context():
        a = db.session.execute(select(Assignment).where(Assignment.request_id == rid)).scalar_one()
        return a.id, a.project.name, rid


def test_expert_sees_project_and_request_and_accepts_by_button(ec) -> None:  # noqa: F811
    from addons.expert_credit.models import Assignment

    aid, project, rid = _drawn(ec)
    client = ec.pb.app.test_client()
    login_form(client, "ec_expert", PASSWORD)
    for path in ("/assignmentview/list/", f"/assignmentview/show/{aid}"):
        html = client.get(path).get_data(as_text=True)
        assert project in html, path
        assert f"抽取申请 {rid}（评审 " in html, path
        assert "见详情页地址" not in html and "None" not in html
    html = client.get("/assignmentview/list/").get_data(as_text=True)
    action = f"/assignmentview/respond/{aid}"
    assert action in html
    res = client.post(action, data={"accept": "1", "csrf_token": _token(html)},
                      follow_redirects=True)
    assert res.status_code == 200
    assert "已接受评审任务" in res.get_data(as_text=True)
    with ec.app.app_context():
        assert db.session.get(Assignment, aid).status == "accepted"
    # answered: no button any more
    html = client.get("/assignmentview/list/").get_data(as_text=True)
    assert action not in html


def test_decline_button_wants_a_reason(ec) -> None:  # noqa: F811
    from addons.expert_credit.models import Assignment

    aid, _, _ = _drawn(ec)
    client = ec.pb.app.test_client()
    login_form(client, "ec_expert", PASSWORD)
    token = _token(client.get("/assignmentview/list/").get_data(as_text=True))
    res = client.post(f"/assignmentview/respond/{aid}",
                      data={"accept": "0", "reason": "", "csrf_token": token},
                      follow_redirects=True)
    html = res.get_data(as_text=True)
    assert "未完成（未写入任何数据）" in html and "必须填写原因" in html
    with ec.app.app_context():
        assert db.session.get(Assignment, aid).status == "drawn"
    client.post(f"/assignmentview/respond/{aid}", data={"accept": "0", "reason": "当天出差",
                                                            "csrf_token": token})
    with ec.app.app_context():
        assert db.session.get(Assignment, aid).status == "declined"
