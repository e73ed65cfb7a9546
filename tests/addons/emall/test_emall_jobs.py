"""The e-mall's periodic jobs run by the platform's job runner: a comparison past its quote
deadline is closed (and its purchaser told) once, however often the job runs; the price
scan queues an anomaly once."""

from __future__ import annotations

from sqlalchemy import select

from core.db import db
from core.worker import jobs_of, run_job, schedule_text
from tests.addons.emall.test_emall_messages import _close, kinds
from tests.conftest import cli


def test_the_jobs_are_declared_with_their_schedules(em) -> None:
    jobs = {j.name: j for j in jobs_of(em.app)}
    assert schedule_text(jobs["emall.close_comparisons"]) == "每 5 分钟"
    assert schedule_text(jobs["emall.scan_prices"]) == "每小时"
    assert jobs["emall.close_comparisons"].module == "emall"
    assert schedule_text(jobs["emall.enforce_price_corrections"]).startswith("每天")


def test_close_comparisons_job_closes_once(em) -> None:
    from addons.emall.models import EmallComparison

    em.admit("sup_a", "A0201")
    la = em.listing("sup_a", price="30000.00", reference="30000.00")
    em.cart("pur", (la, 2))
    cid = em.checkout("pur").json["result"]["comparison"]["id"]
    res = cli(em.app, "jobs", "run", "emall.close_comparisons")
    assert res.exit_code == 0 and "处理 0 项" in res.output, "nothing is due yet"
    _close(em, cid)
    out = run_job(em.app, "emall.close_comparisons", trigger="schedule")
    assert out.ok and out.result == 1
    with em.app.app_context():
        status = db.session.scalar(select(EmallComparison.status).where(
            EmallComparison.id == cid).execution_options(erp_unscoped=True))
    assert status == "closed"
    assert kinds(em, "pur").count("emall.comparison_closed") == 1
    again = run_job(em.app, "emall.close_comparisons", trigger="schedule")
    assert again.ok and again.result == 0
    res = cli(em.app, "emall", "close-comparisons")  # the manual trigger: the same function
    assert res.exit_code == 0 and "closed: 0" in res.output
    assert kinds(em, "pur").count("emall.comparison_closed") == 1


def test_scan_prices_job_queues_an_anomaly_once(em) -> None:
    from decimal import Decimal

    from addons.emall.models import EmallListing, EmallPriceAlert

    em.admit("sup_a", "A0201")
    lid = em.listing("sup_a", price="3100.00", reference="3100.00")
    assert run_job(em.app, "emall.scan_prices").result == 0
    with em.app.app_context():  # the reference price fell below the listed price
        db.session.get(EmallListing, lid).reference_price = Decimal("2600.00")
        db.session.commit()
    first = run_job(em.app, "emall.scan_prices", trigger="schedule")
    assert first.ok and first.result == 1
    assert run_job(em.app, "emall.scan_prices").result == 0, "queued once"
    with em.app.app_context():
        alerts = db.session.scalars(select(EmallPriceAlert.kind).execution_options(
            erp_unscoped=True)).all()
    assert alerts == ["above_reference"]


def test_jobs_page_shows_the_emall_jobs_in_words(em) -> None:
    import re

    from tests.core.crawl import display_problems
    from tests.core.test_web import login_form

    assert run_job(em.app, "emall.close_comparisons").ok
    client = em.app.test_client()
    login_form(client)
    res = client.get("/erp/jobs/")
    html = res.get_data(as_text=True)
    row = re.search(r'<tr data-job="emall.close_comparisons".*?</tr>', html, re.S).group(0)
    assert "关闭报价期已过的网上竞价" in row and "电子卖场" in row and "每 5 分钟" in row
    assert "成功：处理 0 项" in row
    assert 'title="命令行：erp jobs run emall.close_comparisons"' in row
    codes = re.compile(r"(?<![A-Za-z_/.])(emall|procurement_base)(?![A-Za-z_])")
    assert display_problems(res.status_code, html, codes) == []
