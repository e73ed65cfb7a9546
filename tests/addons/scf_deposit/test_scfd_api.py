# ruff: noqa: F811  (pytest fixtures imported from scfd_world)
"""The guarantee API: the whole flow through HTTP with idempotency keys (a retry never
creates a second record), who sees and does what (an institution only what is addressed to
it, on every endpoint), and bad input answered 4xx with the reason, nothing stored."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

from tests.addons.scf_deposit.scfd_world import PDF, SHA, pb, scf, scfd  # noqa: F401

API = "scf_guarantee"


def write(w, path: str, user: str, body: dict, key: str | None = None, expect: int | None = None):
    headers = {**w.h(user), "Idempotency-Key": key or uuid.uuid4().hex}
    res = w.client.post(f"/api/v1/{API}/{path}", json=body, headers=headers)
    if expect is not None:
        assert res.status_code == expect, (path, res.status_code, res.get_data(as_text=True))
    return res


def ask(w, key: str | None = None, expect: int | None = 201, **over):
    body = {"kind": "bid", "package": w.open["package"], "issuer": w.org["bank"],
            "amount": "12000.00", **over}
    return write(w, "request", "sup_c", body, key, expect)


ISSUE = {"number": "BOC-API-1", "amount": "12000.00", "valid_from": "2025-01-01",
         "valid_until": (dt.date.today() + dt.timedelta(days=400)).isoformat(),
         "file_name": "保函.ofd", "file_sha256": SHA, "verify_code": "CODE-2468",
         "file_base64": base64.b64encode(PDF).decode()}


def count(w) -> int:
    from addons.scf_deposit.models import Guarantee

    with w.app.app_context():
        from sqlalchemy import func, select

        from core.db import db

        return db.session.execute(select(func.count()).select_from(Guarantee)
                                  .execution_options(erp_unscoped=True)).scalar_one()


def test_flow_through_the_api_with_idempotency(scfd):
    key = uuid.uuid4().hex
    first = ask(scfd, key=key)
    again = ask(scfd, key=key)
    assert again.json == first.json and again.headers.get("Idempotent-Replayed") == "true"
    assert count(scfd) == 1
    gid = first.json["result"]["id"]
    # the issuers list: both banks, whatever order
    res = scfd.call("GET", f"{API}/issuers/{scfd.open['project']}", "sup_c", expect=200)
    assert {r["issuer"] for r in res.json["result"]} == {scfd.org["bank"], scfd.org["bank2"]}
    res = write(scfd, f"{gid}/issue", "bank", ISSUE, expect=200)
    got = res.json["result"]
    assert got["status_label"] == "已出函（待验真）" and got["file_sm3"] and "verify_code" not in got
    # the agency verifies with the file itself
    res = write(scfd, f"{gid}/verify", "agency", {"verify_code": "CODE-2468",
                                                   "file_base64": ISSUE["file_base64"]}, expect=200)
    assert res.json["result"]["status"] == "verified" and res.json["result"]["deposit_id"]
    dep = scfd.call("GET", f"dl_deposit/{res.json['result']['deposit_id']}", "agency", expect=200)
    assert dep.json["result"]["form"] == "guarantee"
    res = write(scfd, f"{gid}/release", "agency", {"note": "未中标，退回保函"}, expect=200)
    assert res.json["result"]["status"] == "released"


def test_every_endpoint_keeps_an_institution_to_its_own(scfd):
    gid = ask(scfd).json["result"]["id"]
    assert scfd.call("GET", f"{API}/{gid}", "bank2").status_code == 404
    assert scfd.call("GET", f"{API}/", "bank2", expect=200).json["count"] == 0
    assert scfd.call("GET", f"{API}/", "bank", expect=200).json["count"] == 1
    for path, body in ((f"{gid}/issue", ISSUE), (f"{gid}/decline", {"reason": "x"}),
                       (f"{gid}/claim_payment", {"amount": "1", "date": "2025-01-01"})):
        res = write(scfd, path, "bank2", body, expect=404)
        assert "不在您的可见范围" in res.json["message"]
    # another supplier sees nothing; a supplier cannot issue; a bank cannot verify or request
    assert scfd.call("GET", f"{API}/", "sup_a", expect=200).json["count"] == 0
    assert write(scfd, f"{gid}/issue", "sup_c", ISSUE).status_code in (401, 403)
    assert write(scfd, f"{gid}/verify", "bank", {"verify_code": "x"}).status_code in (401, 403)
    assert write(scfd, "request", "bank", {"kind": "bid"}).status_code in (401, 403)
    # the purchaser of another region's project sees nothing
    assert scfd.call("GET", f"{API}/", "pur_jl", expect=200).json["count"] == 0
    assert count(scfd) == 1


def test_bad_input_is_4xx_with_the_reason_and_nothing_stored(scfd):
    assert write(scfd, "request", "sup_c", {"kind": "bid"},
                 expect=422).json["message"].get("package")
    res = ask(scfd, expect=422, amount="99999.00")
    assert "上限" in res.json["message"]["amount"][0]
    res = ask(scfd, expect=422, issuer=scfd.org["pur_cc"])
    assert "名单" in res.json["message"]["issuer"][0]
    res = ask(scfd, expect=422, kind="cash")
    assert "kind" in res.json["message"]
    assert count(scfd) == 0
    gid = ask(scfd).json["result"]["id"]
    res = write(scfd, f"{gid}/issue", "bank", {**ISSUE, "file_base64": "@@@"}, expect=422)
    assert "file_base64" in res.json["message"]
    res = write(scfd, f"{gid}/issue", "bank", {**ISSUE, "file_sha256": "0" * 64}, expect=422)
    assert "不一致" in res.json["message"]["file_sha256"][0]
    write(scfd, f"{gid}/issue", "bank", ISSUE, expect=200)
    # wrong hash, wrong code: every reason at once, nothing stored
    res = write(scfd, f"{gid}/verify", "agency", {"verify_code": "NOPE-0000",
                                                   "file_sha256": "f" * 64}, expect=422)
    assert {"file", "verify_code"} <= set(res.json["message"])
    assert scfd.call("GET", f"{API}/{gid}", "agency", expect=200).json["result"]["status"] == "issued"
    # a claim before verification is a state conflict
    assert write(scfd, f"{gid}/claim", "agency", {"reason": 1}).status_code == 409
    # replay of the issue on a new key: the state no longer allows it
    assert write(scfd, f"{gid}/issue", "bank", ISSUE).status_code == 409


def test_the_writes_are_the_declared_actions_with_the_key_in_the_spec(scfd):
    """The ``<pk>/...`` writes come from actions.py (one declaration for page and API): each
    documents the required Idempotency-Key header, the 400 and its body schema."""
    spec = scfd.call("GET", "_openapi", "admin", expect=200).json
    for name in ("withdraw", "issue", "decline", "claim_payment", "verify", "claim", "release"):
        op = spec["paths"][f"/api/v1/{API}/{{pk}}/{name}"]["post"]
        header = next(p for p in op["parameters"] if p["in"] == "header")
        assert header["name"] == "Idempotency-Key" and header["required"] is True, name
        assert {"200", "400", "403", "404", "409", "422"} <= set(op["responses"]), name
    issue = spec["paths"][f"/api/v1/{API}/{{pk}}/issue"]["post"]
    ref = issue["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    props = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert {"number", "amount", "valid_from", "valid_until", "file_name", "file_sha256",
            "verify_code", "file_base64"} <= set(props)
