"""Public notices of projects and contracts through :mod:`core.notices`: the award notice
(中标（成交）结果公告, within 2 working days of the award) and the contract notice (合同公告,
within 2 working days of signing). Where a notices module takes them, its officials review
and publish; where none is installed for the region, the project and contract pages remain
the record. A terminated or failed project (a terminated contract) withdraws its drafts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.notices import NoticeDraft, submit, withdraw

from ..models import METHODS, Bid, Contract, Package, Project
from .common import _fmt_date


def _yuan(value: Any) -> str:
    return f"{Decimal(value):,.2f} 元"


def _party(org: Any) -> dict[str, Any] | None:
    return {"id": org.id, "name": org.name, "credit_code": org.credit_code} if org is not None else None


def award_notice(session: Session, project: Project) -> Any:
    winners = list(session.execute(
        select(Bid).join(Package, Bid.package_id == Package.id)
        .where(Package.project_id == project.id, Bid.status == "won").order_by(Package.number)).scalars())
    lines = [f"包{b.package.number} {b.package.name}：中标（成交）供应商 {b.supplier.name}，"
             f"中标（成交）金额 {_yuan(b.price)}" for b in winners]
    total = sum((Decimal(b.price) for b in winners), Decimal("0"))
    body = "\n".join([f"项目编号：{project.number}", f"项目名称：{project.name}",
                      f"采购方式：{METHODS.get(project.method, project.method)}",
                      f"中标日期：{_fmt_date(project.award_date)}", *lines])
    return submit(session, NoticeDraft(
        kind="award", region_id=project.region_id, title=f"{project.name}中标（成交）结果公告",
        body=body, source="procurement_base.pb_project", source_id=project.id,
        event_date=project.award_date, deadline_workdays=2,
        publisher_org_id=project.agency_id or project.purchaser_id,
        purchaser_org_id=project.purchaser_id, amount=total,
        data={"process": f"pb-project-{project.id}", "project_number": project.number,
              "project_name": project.name, "method": project.method, "budget": str(project.budget),
              "purchaser": _party(project.purchaser), "agency": _party(project.agency),
              "awards": [{"package": b.package.number, "package_name": b.package.name,
                          "supplier": _party(b.supplier), "amount": str(b.price)} for b in winners]},
        link=f"/projectview/show/{project.id}"))


def contract_notice(session: Session, contract: Contract) -> Any:
    if contract.signed_date is None:
        return None
    project = contract.project
    body = "\n".join(x for x in [
        f"合同编号：{contract.number}",
        f"项目：{project.number} {project.name}" if project is not None else "",
        f"采购人：{contract.purchaser.name}", f"供应商：{contract.supplier.name}",
        f"合同金额：{_yuan(contract.amount)}", f"签订日期：{_fmt_date(contract.signed_date)}"] if x)
    return submit(session, NoticeDraft(
        kind="contract", region_id=contract.region_id,
        title=f"{project.name if project is not None else contract.number}合同公告",
        body=body, source="procurement_base.pb_contract", source_id=contract.id,
        event_date=contract.signed_date, deadline_workdays=2,
        publisher_org_id=contract.purchaser_id, purchaser_org_id=contract.purchaser_id,
        amount=Decimal(contract.amount),
        data={"process": (f"pb-project-{project.id}" if project is not None
                          else f"pb-contract-{contract.id}"),
              "contract_number": contract.number, "signed_date": str(contract.signed_date),
              "purchaser": _party(contract.purchaser), "supplier": _party(contract.supplier),
              "amount": str(contract.amount), "source": contract.source,
              "project_number": project.number if project is not None else None,
              "project_name": project.name if project is not None else None},
        link=f"/contractview/show/{contract.id}"))


def project_moved(session: Session, project: Project, name: str) -> None:
    if name == "award":
        award_notice(session, project)
    elif name in ("terminate", "fail"):
        withdraw(session, project.region_id, "procurement_base.pb_project", project.id)


def contract_moved(session: Session, contract: Contract, name: str) -> None:
    if name == "sign":
        contract_notice(session, contract)
    elif name == "terminate":
        withdraw(session, contract.region_id, "procurement_base.pb_contract", contract.id)
