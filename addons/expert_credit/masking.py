"""Disclosure rules of the module, applied centrally where records are serialised
(APIs, pages, Excel exports) — never by hand in a view:

* the ID-card number (身份证号码) shows as ``2201**********1234`` to everyone except the
  platform admin and users with the 专家管理 role (and CLI / system code);
* expert names on assignments, draws and evaluations show as ``（评审结果公告前保密）`` to
  purchasers and suppliers until the project's award notice is published; the agency,
  expert managers, supervisors (finance) and the expert themself see them;
* a draw request's seed, pools and plans (everything that recomputes a draw) only once the
  names are published (:mod:`.draw_record`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from addons.procurement_base.models import Project
from core.tenancy import current_scope

HIDDEN_NAME = "（评审结果公告前保密）"
PUBLISHED_STATES = ("awarded", "contracted", "completed")


MANAGE_PERMISSION = ("can_manage", "EcExpert")


def _has_permission(permission: str, view_menu: str) -> bool:
    from flask import has_request_context

    if not has_request_context():
        return False
    from core.security import current_erp_user

    user = current_erp_user()
    for role in getattr(user, "roles", ()) or ():
        for pv in role.permissions:
            if pv.permission.name == permission and pv.view_menu.name == view_menu:
                return True
    return False


def manages_experts(scope: Any = None) -> bool:
    """Platform admin, CLI/system, or a user granted ``can_manage on EcExpert`` (the
    专家管理 role): may see full ID numbers, edit profiles, record bad records, decide
    appeals."""
    scope = scope or current_scope()
    if scope.unrestricted:
        return True
    return _has_permission(*MANAGE_PERMISSION)


def names_visible(project: Project | None, scope: Any = None) -> bool:
    """Expert names are hidden from purchasers and suppliers until the award notice is
    published; the extracting agency, expert managers and supervisors see them."""
    scope = scope or current_scope()
    if scope.unrestricted or scope.actor in ("agency", "finance", "region") or manages_experts(scope):
        return True
    if project is None:
        return False
    return project.award_date is not None and project.status in PUBLISHED_STATES



def mask_id(value: str | None) -> str:
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def id_for_viewer(value: str | None, *, manager: bool | None = None) -> str:
    manager = manages_experts() if manager is None else manager
    return (value or "") if manager else mask_id(value)


def name_for_viewer(name: str | None, project: Any, *, own: bool = False) -> str:
    if own or current_scope().actor == "expert" or names_visible(project):
        return name or ""
    return HIDDEN_NAME


def mask_expert_dict(row: dict[str, Any], manager: bool) -> dict[str, Any]:
    if "id_number" in row:
        row["id_number"] = id_for_viewer(row["id_number"], manager=manager)
    return row


def mask_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    manager = manages_experts()
    return [mask_expert_dict(r, manager) for r in rows]


def mask_names(rows: list[dict[str, Any]], key: str = "expert_name",
               project_key: str = "project_id") -> list[dict[str, Any]]:
    """Hide expert names in serialised rows per the project's award status."""
    from core.db import db

    scope = current_scope()
    if scope.actor == "expert" or names_visible(None, scope):
        return rows
    ids = {r.get(project_key) for r in rows if r.get(project_key) is not None}
    projects = {p.id: p for p in db.session.execute(
        select(Project).where(Project.id.in_(ids)).execution_options(erp_unscoped=True)
    ).scalars()} if ids else {}
    for r in rows:
        if key in r:
            r[key] = name_for_viewer(r[key], projects.get(r.get(project_key)))
    return rows
