# ruff: noqa: F811  (pytest fixtures imported from scf_world)
"""Webhook signature schemes per institution (HMAC-SHA256, HMAC-SM3, SM2): a fake bank on
loopback verifies each scheme with the reference check, fails at first and recovers; a
tampered body, a replay and a signature of another scheme are refused; the platform's SM2
key (``erp scf sm2-keygen``) signs and verifies round trips, including the keys gmssl's
constructor would mangle, and OpenSSL verifies its signatures; the public key is published
on a page and an API, the private key never."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from core.db import db
from tests.addons.supply_chain_finance.scf_world import pb, scf  # noqa: F401
from tests.addons.supply_chain_finance.test_scf_pages import token, web
from tests.conftest import cli

SECRET = "secret-bank"
SCHEMES = ("hmac-sha256", "hmac-sm3", "sm2")
PREFIX = {"hmac-sha256": "sha256=", "hmac-sm3": "sm3=", "sm2": "sm2="}


class FakeBank:
    """An institution's endpoint checking ``scheme`` with ``key``: answers 503 ``fail_first``
    times, then verifies and accepts (204) or refuses (409)."""

    def __init__(self, scheme: str, key: str, fail_first: int = 0) -> None:
        from addons.supply_chain_finance.webhooks import WebhookRefused, verify

        self.fail_first, self.seen, self.accepted, self.refused = fail_first, set(), [], []
        self.raw: list[tuple[dict, bytes]] = []
        bank = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                bank.raw.append(({k.lower(): v for k, v in self.headers.items()}, body))
                if bank.fail_first > 0:
                    bank.fail_first -= 1
                    code = 503
                else:
                    try:
                        verify(key, self.headers, body, seen=bank.seen, scheme=scheme)
                        bank.accepted.append(json.loads(body))
                        code = 204
                    except WebhookRefused as exc:
                        bank.refused.append(str(exc))
                        code = 409
                self.send_response(code)
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

    def resend(self, headers: dict, body: bytes) -> int:
        import urllib.error
        import urllib.request

        req = urllib.request.Request(self.url, data=body, method="POST",
                                     headers={k: v for k, v in headers.items() if k.startswith("x-")})
        try:
            with urllib.request.urlopen(req, timeout=5) as res:
                return res.status
        except urllib.error.HTTPError as exc:
            return exc.code


@pytest.fixture
def keyfile(scf, tmp_path):
    """The platform key file in a temporary place, created by the CLI."""
    path = tmp_path / "scf_sm2_key.json"
    scf.app.config["SCF_SM2_KEY_FILE"] = str(path)
    yield path
    scf.app.config.pop("SCF_SM2_KEY_FILE", None)


def _keygen(scf) -> str:
    res = cli(scf.app, "scf", "sm2-keygen")
    assert res.exit_code == 0, res.output
    res = cli(scf.app, "scf", "sm2-public-key")
    assert res.exit_code == 0, res.output
    return res.output.strip()


def _configure(scf, url: str, scheme: str) -> None:
    from addons.supply_chain_finance.models import Institution

    with scf.app.app_context():
        inst = db.session.get(Institution, scf.inst["bank"])
        inst.webhook_url, inst.webhook_secret, inst.signature_scheme = url, SECRET, scheme
        db.session.commit()


def _deliver_rounds(scf, rounds: int, later: dt.timedelta = dt.timedelta(0)) -> None:
    from addons.supply_chain_finance.webhooks import deliver_due

    at = dt.datetime.utcnow() + dt.timedelta(seconds=1) + later
    with scf.app.app_context():
        for _ in range(rounds):
            deliver_due(db.session, at=at)
            db.session.commit()
            at += dt.timedelta(hours=2)  # past any backoff


@pytest.mark.parametrize("scheme", SCHEMES)
def test_fake_bank_verifies_each_scheme_fails_then_recovers(scf, keyfile, scheme):
    from addons.supply_chain_finance.models import Delivery, Outbox

    key = _keygen(scf) if scheme == "sm2" else SECRET
    with FakeBank(scheme, key, fail_first=2) as bank:
        _configure(scf, bank.url, scheme)
        scf.apply()
        _deliver_rounds(scf, 3)
        with scf.app.app_context():
            row = db.session.execute(select(Outbox)).scalars().one()
            log = db.session.execute(select(Delivery).order_by(Delivery.id)).scalars().all()
            assert row.status == "delivered" and row.attempts == 3
            assert [(d.status_code, d.ok) for d in log] == [(503, False), (503, False), (204, True)]
        assert [e["event"] for e in bank.accepted] == ["application.submitted"] and not bank.refused
        headers, body = bank.raw[-1]
        assert headers["x-scf-signature"].startswith(PREFIX[scheme])
        assert ("x-scf-key-id" in headers) == (scheme == "sm2")
        # the same event id on every retry, each attempt signed anew
        assert len({h["x-scf-event-id"] for h, _ in bank.raw}) == 1
        # a replay of the accepted request is refused
        assert bank.resend(headers, body) == 409 and bank.refused == ["事件已处理（重放）"]
        # a tampered body (fresh event id, so not a replay) is refused for its signature
        forged = {**headers, "x-scf-event-id": "f" * 32}
        assert bank.resend(forged, body) == 409
        assert bank.resend(headers, body.replace(b"300000.00", b"900000.00")) == 409
        assert bank.refused[1:] == ["签名不符", "签名不符"]
        assert len(bank.accepted) == 1


def test_sm2_without_a_platform_key_is_logged_and_retried_until_the_key_exists(scf, keyfile):
    from addons.supply_chain_finance.models import Delivery, Outbox

    with FakeBank("sm2", "") as bank:
        _configure(scf, bank.url, "sm2")
        scf.apply()
        _deliver_rounds(scf, 1)
        with scf.app.app_context():
            row = db.session.execute(select(Outbox)).scalars().one()
            log = db.session.execute(select(Delivery)).scalars().all()
            assert row.status == "pending" and len(log) == 1 and not log[0].ok
            assert "sm2-keygen" in log[0].error
        assert bank.raw == []  # nothing unsigned left the platform
    public = _keygen(scf)
    with FakeBank("sm2", public) as bank:
        _configure(scf, bank.url, "sm2")
        _deliver_rounds(scf, 1, later=dt.timedelta(hours=2))
        assert len(bank.accepted) == 1


def test_receiver_refuses_another_scheme_than_agreed():
    from addons.supply_chain_finance import sm2key
    from addons.supply_chain_finance.webhooks import WebhookRefused, sign, verify

    body = b'{"event": "x"}'
    ts = str(int(time.time()))
    key = sm2key.generate()
    for scheme in SCHEMES:
        sig = sign(SECRET, ts, "e1", body, scheme=scheme, key=key)
        headers = {"X-SCF-Event-Id": "e1", "X-SCF-Timestamp": ts, "X-SCF-Signature": sig}
        good = key.public_key if scheme == "sm2" else SECRET
        assert verify(good, headers, body, scheme=scheme) == "e1"
        for other in SCHEMES:
            if other != scheme:
                with pytest.raises(WebhookRefused, match="签名算法"):
                    verify(key.public_key if other == "sm2" else SECRET, headers, body, scheme=other)
        with pytest.raises(WebhookRefused, match="签名不符"):
            verify(sm2key.generate().public_key if scheme == "sm2" else "other", headers, body,
                   scheme=scheme)
        with pytest.raises(WebhookRefused, match="签名不符"):
            verify(good, {**headers, "X-SCF-Timestamp": str(int(ts) + 1)}, body, scheme=scheme)
    # the default stays HMAC-SHA256 (a receiver written before the schemes works unchanged)
    assert sign(SECRET, ts, "e1", body).startswith("sha256=")


def test_hmac_sm3_matches_gmssl_sm3():
    import hmac

    from gmssl import func, sm3

    from addons.supply_chain_finance import sm2key

    def gm(data: bytes) -> bytes:
        return bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(data)))

    secret, data = b"secret-bank", b"1733300000.e1.{}"
    key = secret.ljust(64, b"\0")
    expected = gm(bytes(b ^ 0x5C for b in key) + gm(bytes(b ^ 0x36 for b in key) + data)).hex()
    assert sm2key.hmac_sm3(secret, data) == expected
    assert hmac.new(secret, data, "sm3").hexdigest() == expected


def test_sm2_round_trips_with_generated_keys_even_those_gmssl_would_mangle():
    from gmssl import sm2 as gm

    from addons.supply_chain_finance import sm2key

    mangled, i = 0, 0
    while mangled < 3 and i < 400:  # about one key in eight begins with 0 or 4
        i += 1
        key = sm2key.generate()
        assert len(key.public_key) == 130 and key.public_key.startswith("04")
        data = f"{i}.event.{{}}".encode()
        sig = sm2key.sign(key, data)
        assert sm2key.verify(key.public_key, data, sig)
        assert sm2key.verify(key.public_key[2:], data, sig)  # 64-byte form, no prefix
        assert not sm2key.verify(key.public_key, data + b" ", sig)
        if key.public_key[2] in "04":  # gmssl's lstrip("04") would cut this key
            assert len(gm.CryptSM2(private_key=key.private_key, public_key=key.public_key).public_key) < 128
            mangled += 1
    assert mangled == 3
    # nonces are fresh: two signatures of the same data differ
    key = sm2key.generate()
    assert sm2key.sign(key, b"x") != sm2key.sign(key, b"x")


def test_sm2_refuses_malformed_signatures_and_keys():
    from Cryptodome.Util.asn1 import DerInteger, DerSequence

    from addons.supply_chain_finance import sm2key

    key = sm2key.generate()
    sig = sm2key.sign(key, b"data")
    seq = DerSequence().decode(bytes.fromhex(sig))
    r, s = int(seq[0]), int(seq[1])
    for bad in ("", "zz", sig[:-2], sig + "00",
                DerSequence([DerInteger(0), DerInteger(s)]).encode().hex(),
                DerSequence([DerInteger(r), DerInteger(s + sm2key.N)]).encode().hex(),
                f"{r:064x}{s:064x}"):  # raw r||s is not the agreed DER encoding
        assert not sm2key.verify(key.public_key, b"data", bad), bad
    with pytest.raises(sm2key.Sm2KeyError):
        sm2key.normalise_public("04" + "00" * 64)  # not on the curve
    with pytest.raises(sm2key.Sm2KeyError):
        sm2key.normalise_public("abc")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")
def test_openssl_verifies_the_platform_signature(tmp_path):
    from addons.supply_chain_finance import sm2key
    from addons.supply_chain_finance.webhooks import signed_bytes

    key = sm2key.generate()
    data = signed_bytes("1733300000", "0f8c", b'{"event": "application.submitted"}')
    (tmp_path / "msg").write_bytes(data)
    (tmp_path / "sig").write_bytes(bytes.fromhex(sm2key.sign(key, data)))
    (tmp_path / "pub.pem").write_text(sm2key.public_pem(key.public_key))
    res = subprocess.run(["openssl", "pkeyutl", "-verify", "-in", "msg", "-sigfile", "sig",
                          "-pubin", "-inkey", "pub.pem", "-rawin", "-digest", "sm3",
                          "-pkeyopt", f"distid:{sm2key.USER_ID}"],
                         cwd=tmp_path, capture_output=True, text=True)
    if res.returncode != 0 and "Verification Failure" not in res.stdout + res.stderr:
        pytest.skip(f"this openssl cannot verify SM2: {res.stderr[:200]}")
    assert res.returncode == 0 and "Verified Successfully" in res.stdout, res.stdout + res.stderr


def test_keygen_cli_writes_a_private_file_and_never_prints_the_private_key(scf, keyfile):
    from addons.supply_chain_finance import sm2key

    res = cli(scf.app, "scf", "sm2-keygen")
    assert res.exit_code == 0, res.output
    key = sm2key.read_key(keyfile)
    assert key.private_key not in res.output and key.public_key in res.output
    assert oct(os.stat(keyfile).st_mode & 0o777) == "0o600"
    again = cli(scf.app, "scf", "sm2-keygen")
    assert again.exit_code != 0 and "--force" in again.output
    assert sm2key.read_key(keyfile) == key  # not replaced
    res = cli(scf.app, "scf", "sm2-keygen", "--force")
    assert res.exit_code == 0 and sm2key.read_key(keyfile) != key
    pem = cli(scf.app, "scf", "sm2-public-key", "--pem")
    assert pem.output.startswith("-----BEGIN PUBLIC KEY-----")


def test_public_key_page_and_api_for_banks_private_key_never(scf, keyfile):
    from addons.supply_chain_finance import sm2key

    assert scf.call("GET", "scf_institution/sm2_public_key", "bank", expect=404)
    html = web(scf, "bank").get("/scf/signing-key/").get_data(as_text=True)
    assert "尚未生成" in html
    public = _keygen(scf)
    key = sm2key.read_key(keyfile)
    res = scf.call("GET", "scf_institution/sm2_public_key", "bank", expect=200)
    info = res.json["result"]
    assert info["public_key"] == public and info["key_id"] == key.key_id
    assert info["user_id"] == "1234567812345678" and "BEGIN PUBLIC KEY" in info["public_key_pem"]
    assert key.private_key not in res.get_data(as_text=True)
    html = web(scf, "bank").get("/scf/signing-key/").get_data(as_text=True)
    assert public in html and key.key_id in html and key.private_key not in html
    assert "HMAC-SHA256" in html  # the bank's own scheme
    for word in (">None<", ">True<", ">False<"):
        assert word not in html
    # not for suppliers
    assert scf.call("GET", "scf_institution/sm2_public_key", "sup_a").status_code in (401, 403)


def test_admin_sets_the_scheme_on_the_institution_page(scf):
    from addons.supply_chain_finance.models import Institution

    admin = web(scf)
    html = admin.get("/institutionview/list/").get_data(as_text=True)
    assert "通知签名方式" in html and "HMAC-SHA256（共享密钥，默认）" in html
    for word in (">None<", ">True<", ">False<", ">hmac-sha256<"):
        assert word not in html
    pk = scf.inst["bank"]
    url = f"/institutionview/edit/{pk}"
    form = admin.get(url).get_data(as_text=True)
    assert "SM2 数字签名" in form and "HMAC-SM3" in form
    res = admin.post(url, data={"csrf_token": token(admin, url), "kind": "bank",
                                "signature_scheme": "hmac-sm3", "active": "y",
                                "webhook_url": "https://bank.example/hook"},
                     follow_redirects=True)
    assert res.status_code == 200
    with scf.app.app_context():
        inst = db.session.get(Institution, pk)
        assert inst.signature_scheme == "hmac-sm3" and inst.webhook_secret == "secret-bank"
    # banks do not administer institutions
    assert web(scf, "bank").get("/institutionview/list/").status_code in (302, 403, 404)
