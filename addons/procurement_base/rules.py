"""The record rules of ``procurement_base``: one :class:`core.rules.ModelRules` per model,
named by the model's API and by its page alike (the checks themselves are the service
validators in :mod:`.services`)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from core.errors import RuleError
from core.rules import ModelRules

from . import services
from .models import CatalogItem


class PbRules(ModelRules):
    """``validator(session, item)`` on add and update; deletes by
    :func:`services.check_delete` (drafts and records nothing depends on)."""

    def __init__(self, validator: Any = None) -> None:
        self.validator = validator

    def validate(self, session: Session, item: Any) -> None:
        if self.validator is not None:
            self.validator(session, item)

    def may_delete(self, session: Session, item: Any) -> None:
        services.check_delete(session, item)


class CatalogRules(PbRules):
    def __init__(self) -> None:
        super().__init__(services.validate_catalog_item)

    def before_update(self, session: Session, item: CatalogItem) -> None:
        old = self.old(item, "code")
        if old != item.code and old != (item.code or "").strip().upper():
            child = session.execute(
                select(CatalogItem.id).where(CatalogItem.parent_id == item.id)).first()
            if child is not None:
                raise RuleError({"code": ["该品目有下级品目，不能修改编码"]})
        super().before_update(session, item)


class OrganizationRules(PbRules):
    """One group of organisation types (purchaser, agency, supplier, bank)."""

    def __init__(self, group: str) -> None:
        super().__init__()
        self.types = services.ORG_GROUPS[group]

    def validate(self, session: Session, item: Any) -> None:
        if not item.org_type and len(self.types) == 1:
            item.org_type = self.types[0]
        if item.active is None:
            item.active = True
        services.validate_organization(session, item, org_types=self.types)


def hash_password(password: str) -> str:
    return generate_password_hash(
        password=password,
        method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
        salt_length=current_app.config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16),
    )


class OrgUserRules(ModelRules):
    """Users linked to an organisation: its region in the writer's subtree, roles its type
    allows; the password is hashed on add."""

    def before_add(self, session: Session, item: Any) -> None:
        if item.active is None:
            item.active = True
        services.validate_org_user(session, item, password=item.password, new=True)
        item.password = hash_password(item.password)

    def before_update(self, session: Session, item: Any) -> None:
        services.validate_org_user(session, item)


CATALOG = CatalogRules()
PURCHASER = OrganizationRules("purchaser")
AGENCY = OrganizationRules("agency")
SUPPLIER = OrganizationRules("supplier")
BANK = OrganizationRules("bank")
ORG_USER = OrgUserRules()
PROJECT = PbRules(services.validate_project)
PACKAGE = PbRules(services.validate_package)
BID = PbRules(services.validate_bid)
CONTRACT = PbRules(services.validate_contract)
PAYMENT_PLAN = PbRules(services.validate_payment_plan)
PAYMENT = PbRules(services.validate_payment)
ORGANIZATION_GROUPS = {"purchaser": PURCHASER, "agency": AGENCY, "supplier": SUPPLIER,
                       "bank": BANK}
