"""With the notices module installed, each call-off award (second competition, rotation) and
the direct-selection summary become OCDS releases of their own process, linked to the
agreement's process with ``relatedProcesses`` relationship ``framework``; the agreement's own
notices carry that process's ocid; every release validates against the vendored schema."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from core.db import db
from core.tenancy import SYSTEM, use_scope
from tests import dbcache
from tests.addons.framework_agreement.fa_world import FaWorld, now
from tests.addons.framework_agreement.test_fa_services import _as, _purchaser
from tests.conftest import cli, installer


@pytest.fixture
def fanh(fa: FaWorld) -> FaWorld:
    def build() -> dict[str, Any]:
        assert installer(fa.app).install(["notice_hub"]) == ["notice_hub"]
        assert cli(fa.app, "tenant", "enable", "220000", "notice_hub").exit_code == 0
        return {}

    dbcache.cached(fa.app, "world:fa:nh", build)
    return fa


def _valid(doc: dict) -> None:
    from addons.notice_hub.ocds import validator

    errors = sorted(validator("release-package").iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_call_off_releases_link_the_agreement_process(fanh: FaWorld) -> None:
    from addons.framework_agreement import services as fs
    from addons.framework_agreement.models import FaAgreement, FaCallOff, FaMember
    from addons.notice_hub import services as nhs
    from addons.notice_hub.models import Notice

    fa = fanh
    with fa.app.app_context():
        s = db.session
        with use_scope(_purchaser(fa)):
            c = fs.start_competition(s, fa.ag, fa.item, 2, [fa.org("sup_a"), fa.org("sup_b")],
                                     now() + dt.timedelta(days=5))
            cid = c.id
        for sup, price in (("sup_a", "4400"), ("sup_b", "4300")):
            with use_scope(_as(fa, sup)):
                fs.submit_bid(s, s.get(FaCallOff, cid), price)
        with use_scope(_purchaser(fa)):
            fs.award_competition(s, s.get(FaCallOff, cid))
            fs.rotate(s, fa.ag, fa.item, 1)
            fs.direct_select(s, fa.ag, fa.line["sup_a"], 1)
        with use_scope(SYSTEM):
            m = s.execute(select(FaMember).where(FaMember.supplier_id == fa.org("sup_b"))).scalar_one()
            fs.remove_member(s, m, "collusion", note="与他人串通报价")  # an agreement notice
            ag = s.get(FaAgreement, fa.ag)
            ag.term_end = now().date() - dt.timedelta(days=1)
            ag.term_start = ag.term_end - dt.timedelta(days=30)
            s.flush()
            fs.expire_and_summarise(s)
        s.commit()
        drafts = list(s.scalars(select(Notice).where(Notice.status == "draft").order_by(Notice.id)))
        for n in drafts:
            nhs.publish(s, n, actor="test")
        s.commit()
        by_kind: dict[str, list[Notice]] = {}
        for n in drafts:
            by_kind.setdefault(n.kind, []).append(n)
        assert len(by_kind["framework_deal"]) == 2 and len(by_kind["framework_summary"]) == 1
        agreement_ocid = by_kind["framework_change"][0].ocid
        assert agreement_ocid.endswith(f"-fa-agreement-{fa.ag}")
        ids = [n.id for n in by_kind["framework_deal"] + by_kind["framework_summary"]]
        ocids = {n.ocid for n in by_kind["framework_deal"] + by_kind["framework_summary"]}
    assert len(ocids) == 3 and agreement_ocid not in ocids  # each call-off its own process
    client = fa.app.test_client()  # anonymous
    for nid in ids:
        pkg = client.get(f"/ocds/releases/{nid}.json").json
        _valid(pkg)
        rel = pkg["releases"][0]
        assert rel["tender"]["procurementMethodDetails"] == "框架协议采购"
        (rp,) = rel["relatedProcesses"]
        assert rp["relationship"] == ["framework"] and rp["scheme"] == "ocid"
        assert rp["identifier"] == agreement_ocid
