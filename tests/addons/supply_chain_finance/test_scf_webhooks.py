# ruff: noqa: F811  (pytest fixtures imported from scf_world)
"""Signed webhooks: a fake bank server on loopback verifies every signature, fails at first
and recovers; the outbox retries with backoff and logs every delivery; replays, a wrong
signature and a stale timestamp are refused by the receiver's check."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from core.db import db
from tests.addons.supply_chain_finance.scf_world import pb, scf  # noqa: F401
from tests.conftest import cli

SECRET = "secret-bank"


class FakeBank:
    """An institution's endpoint: answers 503 ``fail_first`` times, then verifies and accepts."""

    def __init__(self, fail_first: int) -> None:
        from addons.supply_chain_finance.webhooks import WebhookRefused, verify

        self.fail_first, self.seen, self.accepted, self.refused = fail_first, set(), [], []
        self.raw: list[tuple[dict, bytes]] = []
        bank = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                bank.raw.append((dict(self.headers), body))
                if bank.fail_first > 0:
                    bank.fail_first -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                try:
                    verify(SECRET, self.headers, body, seen=bank.seen)
                except WebhookRefused as exc:
                    bank.refused.append(str(exc))
                    self.send_response(409)
                    self.end_headers()
                    return
                bank.accepted.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/scf/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _configure(scf, url: str) -> None:
    from addons.supply_chain_finance.models import Institution

    with scf.app.app_context():
        inst = db.session.get(Institution, scf.inst["bank"])
        inst.webhook_url, inst.webhook_secret = url, SECRET
        db.session.commit()


def test_fake_bank_fails_then_recovers_every_attempt_logged(scf):
    from addons.supply_chain_finance.models import Delivery, Outbox
    from addons.supply_chain_finance.webhooks import deliver_due

    with FakeBank(fail_first=2) as bank:
        _configure(scf, bank.url)
        scf.apply()
        at = dt.datetime.utcnow() + dt.timedelta(seconds=1)
        with scf.app.app_context():
            for _ in range(3):
                deliver_due(db.session, at=at)
                db.session.commit()
                at += dt.timedelta(hours=2)  # past any backoff
            row = db.session.execute(select(Outbox)).scalars().one()
            log = db.session.execute(select(Delivery).order_by(Delivery.id)).scalars().all()
            assert row.status == "delivered" and row.attempts == 3
            assert [(d.status_code, d.ok) for d in log] == [(503, False), (503, False), (204, True)]
            # nothing left to deliver
            assert deliver_due(db.session, at=at) == {"delivered": 0, "retry": 0, "failed": 0}
        assert [e["event"] for e in bank.accepted] == ["application.submitted"]
        data = bank.accepted[0]["data"]
        assert data["contract"]["amount"] == "550000.00" and data["status"] == "submitted"
        # the same request sent again (a replay) is refused by the receiver
        headers, body = bank.raw[-1]
        import urllib.error
        import urllib.request

        req = urllib.request.Request(bank.url, data=body, method="POST",
                                     headers={k: v for k, v in headers.items() if k.startswith("X-")})
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(req, timeout=5)
        assert exc.value.code == 409 and bank.refused == ["事件已处理（重放）"]


def test_backoff_grows_and_gives_up(scf):
    from addons.supply_chain_finance.models import Delivery, Outbox
    from addons.supply_chain_finance.webhooks import MAX_ATTEMPTS, backoff, deliver_due

    assert backoff(1) < backoff(2) < backoff(3) <= dt.timedelta(hours=1)
    _configure(scf, "http://127.0.0.1:9/closed")  # nothing listens: connection refused
    scf.apply()
    at = dt.datetime.utcnow() + dt.timedelta(seconds=1)
    with scf.app.app_context():
        deliver_due(db.session, at=at)
        row = db.session.execute(select(Outbox)).scalars().one()
        assert row.status == "pending" and row.next_attempt_at == at + backoff(1)
        # not due yet: no attempt
        assert deliver_due(db.session, at=at + dt.timedelta(seconds=5))["retry"] == 0
        for _ in range(MAX_ATTEMPTS):
            at += dt.timedelta(hours=2)
            deliver_due(db.session, at=at)
        db.session.commit()
        row = db.session.execute(select(Outbox)).scalars().one()
        assert row.status == "failed" and row.attempts == MAX_ATTEMPTS
        log = db.session.execute(select(Delivery)).scalars().all()
        assert len(log) == MAX_ATTEMPTS and all(d.error for d in log)


def test_receiver_check_refuses_wrong_signature_and_stale_timestamp():
    from addons.supply_chain_finance.webhooks import WebhookRefused, sign, verify

    body = b'{"event": "x"}'
    ts = str(int(time.time()))
    good = {"X-SCF-Event-Id": "e1", "X-SCF-Timestamp": ts,
            "X-SCF-Signature": sign(SECRET, ts, "e1", body)}
    assert verify(SECRET, good, body, seen=set()) == "e1"
    with pytest.raises(WebhookRefused, match="签名不符"):
        verify("other", good, body)
    with pytest.raises(WebhookRefused, match="签名不符"):
        verify(SECRET, good, body + b" ")
    old = str(int(time.time()) - 3600)
    stale = {**good, "X-SCF-Timestamp": old, "X-SCF-Signature": sign(SECRET, old, "e1", body)}
    with pytest.raises(WebhookRefused, match="重放"):
        verify(SECRET, stale, body)


def test_cli_deliver(scf):
    with FakeBank(fail_first=0) as bank:
        _configure(scf, bank.url)
        scf.apply()
        time.sleep(1)
        res = cli(scf.app, "scf", "deliver")
        assert res.exit_code == 0, res.output
        assert "已送达 1" in res.output
    assert len(bank.accepted) == 1


def test_events_of_the_whole_flow_are_queued(scf):
    import datetime as dt2
    from decimal import Decimal

    from addons.procurement_base.models import Contract
    from addons.procurement_base.services import record_payment
    from addons.supply_chain_finance import services
    from addons.supply_chain_finance.models import AccountLock, Outbox

    _configure(scf, "http://127.0.0.1:9/hook")
    pk = scf.apply()
    scf.run(services.decide, pk, bank_id=scf.org["bank"], decision="request_info", reason="请补充发票")
    scf.run(services.reply, pk, supplier_id=scf.org["sup_a"], text="已补充")
    scf.approve(pk)
    with scf.app.app_context():
        lock_id = db.session.execute(select(AccountLock.id)).scalar_one()
    scf.run(services.confirm_account, lock_id, purchaser_ids={scf.org["pur_cc"]})
    with scf.app.app_context():
        record_payment(db.session, db.session.get(Contract, scf.ids["contract"]), Decimal("1000.00"),
                       dt2.date(2025, 4, 10), payee_account="6216 6102 0001 2345")
        db.session.commit()
        events = [e for (e,) in db.session.execute(select(Outbox.event).order_by(Outbox.id))]
        payload = json.loads(db.session.execute(select(Outbox.payload).order_by(Outbox.id.desc())).scalars().first())
    assert events == ["application.submitted", "application.updated", "account.confirmed",
                      "payment.recorded"]
    assert payload["data"]["amount"] == "1000.00" and payload["data"]["application_id"] == pk


def test_deliver_is_a_periodic_job_of_the_runner(scf):
    from core.worker import jobs_of, run_job, schedule_text

    job = {j.name: j for j in jobs_of(scf.app)}["supply_chain_finance.deliver"]
    assert job.module == "supply_chain_finance" and schedule_text(job) == "每分钟"
    with FakeBank(fail_first=0) as bank:
        _configure(scf, bank.url)
        scf.apply()
        time.sleep(1)
        res = cli(scf.app, "jobs", "run", "supply_chain_finance.deliver")
        assert res.exit_code == 0, res.output
        assert "成功：处理 1 项" in res.output
        again = run_job(scf.app, "supply_chain_finance.deliver", trigger="schedule")
        assert again.ok and again.result == 0, "a delivered event is not posted again"
    assert len(bank.accepted) == 1
