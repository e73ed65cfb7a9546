"""Figures for the finance bureaus' dashboard (预留情况看板) and the winners' declarations shown
with the award. Plain Python on a session."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from addons.procurement_base.models import Bid, Package, Project
from core.models import Organization, Region

from . import disclosure
from .models import DISCLOSURE_STATES, Declaration, Disclosure

#: years shown in the trend
TREND_YEARS = 5


def winner_declarations(session: Session, project: Project | None) -> list[Declaration]:
    """The 中小企业声明函 of the project's winning bids (published with the award, 46号 art. 14)."""
    if project is None or project.status not in ("awarded", "contracted", "completed"):
        return []
    return list(session.execute(
        select(Declaration).join(Bid, Declaration.bid_id == Bid.id)
        .join(Package, Bid.package_id == Package.id)
        .where(Package.project_id == project.id, Bid.status == "won")
        .order_by(Package.number)).scalars())


def contract_marks(session: Session, project: Project | None) -> list[dict[str, Any]]:
    """The project's contracts with their 中小企业预留合同 mark and the supplier's size at the
    time (the winning bid's declaration, else the contract's SME label)."""
    from addons.procurement_base.models import SME_LABELS, Contract

    from .models import SIZES

    if project is None or project.id is None:
        return []
    out = []
    for c in session.execute(select(Contract).where(Contract.project_id == project.id)
                             .order_by(Contract.number)).scalars():
        decl = session.execute(select(Declaration.size).where(
            Declaration.package_id == c.package_id, Declaration.supplier_id == c.supplier_id)
            .execution_options(erp_unscoped=True)).scalar()
        reserved = project.sme_measure == "whole" or bool(c.package and c.package.sme_reserved)
        partial = project.sme_measure in ("consortium", "subcontract")
        out.append({"number": c.number, "supplier": c.supplier.name, "amount": c.amount,
                    "mark": "中小企业预留合同" if reserved else (
                        "部分预留（联合体/分包）" if partial else "非预留合同"),
                    "size": SIZES.get(decl, "") if decl else SME_LABELS.get(c.sme_label, "")})
    return out


def _units(session: Session, region_ids: Iterable[int] | None) -> list[Organization]:
    stmt = select(Organization).where(Organization.org_type == "competent_unit")
    if region_ids is not None:
        stmt = stmt.where(Organization.region_id.in_(list(region_ids)))
    return list(session.execute(stmt.order_by(Organization.region_id, Organization.name)).scalars())


def overview(session: Session, year: int, region_ids: Iterable[int] | None) -> dict[str, Any]:
    """Per unit and per region (city) for ``year``: reserved share against the target,
    small-and-micro share; the trend over the last years; units below target; units that
    have not published. ``region_ids``: the user's regions (None: the province)."""
    region_ids = list(region_ids) if region_ids is not None else None
    units = _units(session, region_ids)
    ids = [u.id for u in units]
    figures = disclosure.compute_all(session, year, units=ids)
    status = dict(session.execute(select(Disclosure.unit_id, Disclosure.status).where(
        Disclosure.year == year, Disclosure.unit_id.in_(ids))
        .execution_options(erp_unscoped=True)).all()) if ids else {}
    regions = {r.id: r for r in session.execute(select(Region)).scalars()}
    rows, by_region = [], {}
    for u in units:
        f = figures.get(u.id)
        target, target_sm = disclosure.targets(session, u.region_id)
        city = _city(regions, u.region_id)
        row = {"id": u.id, "name": u.name, "region": city,
               "total": f.total if f else Decimal("0"), "suitable": f.suitable if f else Decimal("0"),
               "reserved": f.reserved_total if f else Decimal("0"),
               "small_micro": f.small_micro if f else Decimal("0"),
               "reserved_share": f.reserved_share if f else Decimal("0"),
               "small_micro_share": f.small_micro_share if f else Decimal("0"),
               "target": target, "target_small_micro": target_sm,
               "status": DISCLOSURE_STATES.get(status.get(u.id, ""), "未生成"),
               "has_data": bool(f and f.contracts)}
        row["below"] = row["has_data"] and (row["reserved_share"] < target
                                            or row["small_micro_share"] < target_sm)
        rows.append(row)
        agg = by_region.setdefault(city, {"region": city, "suitable": Decimal("0"),
                                          "reserved": Decimal("0"), "total": Decimal("0"),
                                          "small_micro": Decimal("0"), "units": 0})
        agg["units"] += 1
        for key in ("suitable", "reserved", "total", "small_micro"):
            agg[key] += row[key]
    for agg in by_region.values():
        agg["reserved_share"] = disclosure.share(agg["reserved"], agg["suitable"])
        agg["small_micro_share"] = disclosure.share(agg["small_micro"], agg["total"])
    # the trend: earlier years from the disclosures the units computed (stored figures), the
    # year shown from the records; recomputing five years of contracts per page view would not
    # scale to a province
    trend = []
    stored = session.execute(select(Disclosure).where(
        Disclosure.year >= year - TREND_YEARS + 1, Disclosure.year < year,
        Disclosure.unit_id.in_(ids))).scalars().all() if ids else []
    for y in range(year - TREND_YEARS + 1, year + 1):
        if y == year:
            suitable = sum((f.suitable for f in figures.values()), Decimal("0"))
            reserved = sum((f.reserved_total for f in figures.values()), Decimal("0"))
            sm = sum((f.reserved_small_micro for f in figures.values()), Decimal("0"))
        else:
            items = [d for d in stored if d.year == y]
            suitable = sum((d.suitable_amount for d in items), Decimal("0"))
            reserved = sum((d.reserved_total for d in items), Decimal("0"))
            sm = sum((d.reserved_total * d.small_micro_share / 100 for d in items), Decimal("0"))
        if suitable:
            trend.append({"year": y, "reserved_share": disclosure.share(reserved, suitable),
                          "small_micro_share": disclosure.share(sm, reserved)})
    with_data = [r for r in rows if r["has_data"]]
    return {"units": with_data, "regions": sorted(by_region.values(), key=lambda a: a["region"]),
            "trend": trend, "below": [r for r in with_data if r["below"]],
            "unpublished": [{"name": u.name, "region": _city(regions, u.region_id), "status": s}
                            for u, s in disclosure.unpublished_units(session, year, region_ids)]}


def _city(regions: dict[int, Region], region_id: int) -> str:
    """The prefecture-level city of a region (the province itself for 220000)."""
    node = regions.get(region_id)
    while node is not None and node.level not in ("prefecture", "province"):
        node = regions.get(node.parent_id)
    return node.name if node is not None else ""
