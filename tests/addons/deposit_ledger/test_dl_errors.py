# ruff: noqa: F811  (pytest fixtures imported from dl_world)
"""A client can never cause a 500: malformed bodies, wrong types, unknown ids and methods on
every endpoint of the module answer 4xx in the platform's envelope, and the OpenAPI spec
documents the module's endpoints."""

from __future__ import annotations

from tests.addons.deposit_ledger.dl_world import dl, pb  # noqa: F401

BAD_BODIES = [None, [], "x", {"date": "2025-02-30"}, {"amount": 1.5}, {"amount": "abc"},
              {"reason": "x"}, {"reason": True}, {"contract": "1"}, {"contract": 99999},
              {"entry": -1}, {"trigger": 5, "date": 3}, {"supplier_fault": "maybe"},
              {"bank_reference": "x" * 500}, {"voucher_no": ["a"]}, {"date": None},
              {"reason": 2**40}, {"contract": 2**40}]
ACTIONS = ["refund", "forfeit", "remit", "convert", "release", "reverse", "trigger"]


def test_no_input_causes_a_server_error(dl):
    pk = dl.deposit().json["id"]
    client, h = dl.client, dl.h("agency")
    for action in ACTIONS:
        for body in BAD_BODIES:
            res = client.post(f"/api/v1/dl_deposit/{pk}/{action}", headers=h, json=body)
            assert res.status_code < 500, (action, body, res.status_code, res.json)
        res = client.post(f"/api/v1/dl_deposit/{pk}/{action}", headers=h, data="{not json",
                          content_type="application/json")
        assert res.status_code == 400, action
        for bad_id in ("999999", "0", "abc", "99999999999999999999"):
            res = client.post(f"/api/v1/dl_deposit/{bad_id}/{action}", headers=h, json={})
            assert res.status_code in (404, 405), (action, bad_id, res.status_code)
    for body in BAD_BODIES + [{"kind": "bid", "project": "x", "amount": "1"},
                              {"number": "N", "kind": "bid", "project": 2**40, "amount": "1"},
                              {"number": "N", "kind": "bid", "project": dl.ids["project"],
                               "amount": "1", "received_date": "2025-03-20", "form": None}]:
        res = client.post("/api/v1/dl_deposit/", headers=h, json=body)
        assert 400 <= res.status_code < 500, (body, res.status_code, res.json)
    for path in ("dl_cleanup/?page=-1", "dl_cleanup/?page=abc&category=x", "dl_cleanup/report?cutoff=x",
                 "dl_reconcile/?batch=%00", "dl_deposit/due/x", "dl_deposit/999999/entries"):
        res = client.get(f"/api/v1/{path}", headers=h)
        assert res.status_code < 500, (path, res.status_code)
    for body in (None, {"action": "refund"}, {"action": "refund", "ids": ["a"]},
                 {"action": "refund", "ids": [2**40]}, {"action": "remit", "ids": list(range(2000))}):
        res = client.post("/api/v1/dl_cleanup/bulk", headers=h, json=body)
        assert res.status_code < 500, (body, res.status_code)
    for path, body in (("dl_reconcile/match", {"line": "x"}), ("dl_reconcile/match", {"line": 1, "entry": 2}),
                       ("dl_reconcile/match/999/confirm", {}), ("dl_reconcile/match/1/burn", {})):
        res = client.post(f"/api/v1/{path}", headers=h, json=body)
        assert 400 <= res.status_code < 500, (path, res.status_code)
    for body in ({"effective_date": "2025-13-01", "rate_percent": "x"},
                 {"effective_date": "2019-08-20", "rate_percent": "3.10"},
                 {"effective_date": "2026-01-20", "rate_percent": "-1"}):
        res = client.post("/api/v1/dl_lpr_rate/", headers=dl.h("admin"), json=body)
        assert res.status_code in (409, 422), (body, res.status_code, res.json)


def test_openapi_documents_the_module(dl):
    spec = dl.client.get("/api/v1/_openapi", headers=dl.h("admin"))
    assert spec.status_code == 200
    paths = spec.json["paths"]
    for p in ("/api/v1/dl_deposit/{pk}/refund", "/api/v1/dl_cleanup/report",
              "/api/v1/dl_reconcile/import"):
        assert p in paths, p
