"""Roles and permissions synced from manifests, on the installer's connection.

FAB's security manager commits its own session as it goes, which would break the
all-or-nothing install; so this works directly on FAB's tables (``ab_*``) with SQLAlchemy
Core, inside the caller's transaction.

* Every permission of every registered view, API and menu item of a module is created
  (``ab_permission`` / ``ab_view_menu`` / ``ab_permission_view``) and granted to the
  admin role, as FAB does.
* Each role of the manifest's ``roles`` gets exactly the grants listed there; what the
  module granted before and no longer lists is removed (``erp_module_grant`` remembers who
  granted what, so a grant also made by another module stays).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.engine import Connection

from core.addons.manifest import GRANT_RE, AddonError
from core.db import metadata
from core.models import ModuleGrant

Pair = tuple[str, str]  # (permission name, view_menu name)
GRANT = ModuleGrant.__table__


def _t(name: str):
    return metadata.tables[name]


class PermissionStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.perm, self.view = _t("ab_permission"), _t("ab_view_menu")
        self.pv, self.pvr, self.role = (
            _t("ab_permission_view"),
            _t("ab_permission_view_role"),
            _t("ab_role"),
        )
        self._perm_ids = {n: i for i, n in conn.execute(select(self.perm.c.id, self.perm.c.name))}
        self._view_ids = {n: i for i, n in conn.execute(select(self.view.c.id, self.view.c.name))}
        self._pv_ids: dict[tuple[int, int], int] = {
            (p, v): i
            for i, p, v in conn.execute(
                select(self.pv.c.id, self.pv.c.permission_id, self.pv.c.view_menu_id)
            )
        }

    def _id(self, table, cache: dict[str, int], name: str) -> int:
        if name not in cache:
            cache[name] = self.conn.execute(
                insert(table).values(name=name).returning(table.c.id)
            ).scalar_one()
        return cache[name]

    def pv_id(self, pair: Pair, *, create: bool = True) -> int | None:
        perm, view = pair
        if not create and (perm not in self._perm_ids or view not in self._view_ids):
            return None
        key = (self._id(self.perm, self._perm_ids, perm), self._id(self.view, self._view_ids, view))
        if key not in self._pv_ids:
            if not create:
                return None
            self._pv_ids[key] = self.conn.execute(
                insert(self.pv)
                .values(permission_id=key[0], view_menu_id=key[1])
                .returning(self.pv.c.id)
            ).scalar_one()
        return self._pv_ids[key]

    def ensure_pairs(self, pairs: Iterable[Pair]) -> list[int]:
        """Create the missing permissions, views and pairs in a few batched statements
        (one INSERT per table, then one SELECT to learn the new ids)."""
        pairs = sorted(set(pairs))
        for table, cache, names in (
            (self.perm, self._perm_ids, {p for p, _ in pairs}),
            (self.view, self._view_ids, {v for _, v in pairs}),
        ):
            missing = sorted(n for n in names if n not in cache)
            if missing:
                self.conn.execute(insert(table), [{"name": n} for n in missing])
                cache.update(
                    {n: i for i, n in self.conn.execute(
                        select(table.c.id, table.c.name).where(table.c.name.in_(missing)))}
                )
        keys = [(self._perm_ids[p], self._view_ids[v]) for p, v in pairs]
        missing_keys = sorted({k for k in keys if k not in self._pv_ids})
        if missing_keys:
            self.conn.execute(
                insert(self.pv),
                [{"permission_id": p, "view_menu_id": v} for p, v in missing_keys],
            )
            wanted_views = sorted({v for _, v in missing_keys})
            for i, p, v in self.conn.execute(
                select(self.pv.c.id, self.pv.c.permission_id, self.pv.c.view_menu_id).where(
                    self.pv.c.view_menu_id.in_(wanted_views)
                )
            ):
                self._pv_ids[(p, v)] = i
        return [self._pv_ids[k] for k in keys]

    def pairs_of_view(self, view: str) -> list[Pair]:
        vid = self._view_ids.get(view)
        if vid is None:
            return []
        names = {i: n for n, i in self._perm_ids.items()}
        return sorted((names[p], view) for (p, v) in self._pv_ids if v == vid)

    def role_id(self, name: str) -> int:
        rid = self.conn.execute(select(self.role.c.id).where(self.role.c.name == name)).scalar()
        if rid is None:
            rid = self.conn.execute(
                insert(self.role).values(name=name).returning(self.role.c.id)
            ).scalar_one()
        return rid

    def grant(self, role_id: int, pv_ids: Iterable[int]) -> None:
        have = {
            x
            for (x,) in self.conn.execute(
                select(self.pvr.c.permission_view_id).where(self.pvr.c.role_id == role_id)
            )
        }
        rows = [{"permission_view_id": p, "role_id": role_id} for p in set(pv_ids) - have]
        if rows:
            self.conn.execute(insert(self.pvr), rows)

    def revoke(self, role_id: int, pv_id: int) -> None:
        self.conn.execute(
            delete(self.pvr).where(
                and_(self.pvr.c.role_id == role_id, self.pvr.c.permission_view_id == pv_id)
            )
        )


def ensure_permissions(
    conn: Connection, pairs: Iterable[Pair], admin_role: str, public_role: str = "Public"
) -> None:
    """Create the permissions of registered views/menus and grant them all to the admin;
    make sure the public (anonymous) role exists, as FAB expects."""
    store = PermissionStore(conn)
    store.role_id(public_role)
    store.grant(store.role_id(admin_role), store.ensure_pairs(pairs))


#: ``read on <View>`` in a manifest grants these of the view's permissions (those it has)
READ = "read"
READ_PERMISSIONS = ("can_get", "can_info", "can_list", "can_show")


def sync_module_roles(
    conn: Connection,
    module: str,
    roles: dict[str, tuple[str, ...]],
    module_pairs: Iterable[Pair],
    manifest_file: str,
) -> None:
    """Grant each manifest role exactly its listed permissions; remove stale grants."""
    store = PermissionStore(conn)
    known = set(module_pairs)
    wanted: set[tuple[str, str, str]] = set()  # (role, perm, view)
    for role, grants in roles.items():
        for grant in grants:
            m = GRANT_RE.match(grant)
            assert m is not None  # validated with the manifest
            perm, view = m.group("perm"), m.group("view")
            if perm == "*":
                pairs = sorted({p for p in known if p[1] == view} | set(store.pairs_of_view(view)))
            elif perm == READ:
                pairs = [(p, view) for p in READ_PERMISSIONS
                         if (p, view) in known or store.pv_id((p, view), create=False)]
            else:
                pairs = [(perm, view)] if (perm, view) in known or store.pv_id(
                    (perm, view), create=False
                ) else []
            if not pairs:
                raise AddonError(
                    f"{manifest_file}: role {role!r}: grant {grant!r} names no permission "
                    "of a registered view, API or menu"
                )
            wanted.update((role, p, v) for p, v in pairs)
    before = {
        (r.role, r.permission, r.view_menu)
        for r in conn.execute(
            select(GRANT.c.role, GRANT.c.permission, GRANT.c.view_menu).where(
                GRANT.c.module == module
            )
        )
    }
    for role, perm, view in sorted(before - wanted):
        conn.execute(
            delete(GRANT).where(
                and_(
                    GRANT.c.module == module,
                    GRANT.c.role == role,
                    GRANT.c.permission == perm,
                    GRANT.c.view_menu == view,
                )
            )
        )
        also_granted = conn.execute(
            select(GRANT.c.id).where(
                and_(GRANT.c.role == role, GRANT.c.permission == perm, GRANT.c.view_menu == view)
            )
        ).first()
        pv = store.pv_id((perm, view), create=False)
        if not also_granted and pv is not None:
            store.revoke(store.role_id(role), pv)
    by_role: dict[str, list[int]] = {}
    for role, perm, view in sorted(wanted):
        pv = store.pv_id((perm, view))
        assert pv is not None
        by_role.setdefault(role, []).append(pv)
    for role in roles:  # a role the manifest declares exists even before any grant
        store.role_id(role)
    for role, pvs in by_role.items():
        store.grant(store.role_id(role), pvs)
    new = sorted(wanted - before)
    if new:
        conn.execute(
            insert(GRANT),
            [{"module": module, "role": r, "permission": p, "view_menu": v} for r, p, v in new],
        )


def remove_module_grants(conn: Connection, module: str) -> None:
    sync_module_roles(conn, module, {}, (), "")
