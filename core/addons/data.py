"""Loading add-on data and demo files with external ids.

Formats (paths listed in the manifest's ``data`` / ``demo``):

* CSV: the file name up to its first dot is the table name (``data/erp_region.csv`` and
  ``data/erp_region.extra.csv`` fill ``erp_region``).
  The ``id`` column holds the record's external id; a column ``<field>:ref`` holds the
  external id of another record whose database id goes into ``<field>``. Empty cells
  are NULL. CSV records are always updatable. A JSON column's cell is JSON text.
* YAML: one block or a list of blocks ``{table: ..., noupdate: bool, records: [...]}``;
  each record has ``id`` and its values, ``<field>:ref`` as in CSV, and may carry its own
  ``noupdate``. A JSON column takes a YAML list or mapping as it is (a string is read
  as JSON text, as in CSV).

External ids are ``module.name``; a bare ``name`` means the loading module. An upgrade
updates shipped records in place, leaves records marked no-update alone, and removes the
records of the module that its files no longer ship (``remove_stale``).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from core.addons.manifest import AddonError
from core.db import metadata
from core.models import ModelData

log = logging.getLogger(__name__)
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MD = ModelData.__table__
BATCH = 1000


class DataFileError(AddonError):
    pass


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    skipped_noupdate: int = 0
    removed: int = 0
    kept: list[str] = field(default_factory=list)  # stale records that could not be removed


@dataclass
class _Rec:
    xmlid: str  # local name
    values: dict[str, Any]
    refs: dict[str, str]
    noupdate: bool
    line: str  # "file:line" for messages


class DataLoader:
    """Loads the data files of one module on one connection (inside the caller's transaction)."""

    def __init__(self, conn: Connection, module: str) -> None:
        self.conn = conn
        self.module = module
        self.seen: set[str] = set()
        self.result = LoadResult()
        self._tables: dict[str, Table] = {}
        self._reflected = MetaData()
        self._foreign: dict[str, dict[str, int]] = {}
        # every external id of this module: name -> (table, res_id, noupdate, demo)
        self.known: dict[str, tuple[str, int, bool, bool]] = {
            r.name: (r.table_name, r.res_id, r.noupdate, r.demo)
            for r in conn.execute(
                select(MD.c.name, MD.c.table_name, MD.c.res_id, MD.c.noupdate, MD.c.demo).where(
                    MD.c.module == module
                )
            )
        }

    # -- helpers ----------------------------------------------------------------------
    def table(self, name: str, where: str) -> Table:
        if name in self._tables:
            return self._tables[name]
        t = metadata.tables.get(name)
        if t is None:
            try:
                t = Table(name, self._reflected, autoload_with=self.conn)
            except SQLAlchemyError:
                raise DataFileError(f"{where}: table {name!r} does not exist") from None
        if "id" not in t.c:
            raise DataFileError(f"{where}: table {name!r} has no 'id' column")
        self._tables[name] = t
        return t

    def resolve(self, ref: str, where: str) -> int:
        module, _, name = ref.rpartition(".")
        module = module or self.module
        if module == self.module and name in self.known:
            return self.known[name][1]
        if module != self.module:
            if module not in self._foreign:  # every external id of that module, once
                self._foreign[module] = {
                    n: int(r)
                    for n, r in self.conn.execute(
                        select(MD.c.name, MD.c.res_id).where(MD.c.module == module)
                    )
                }
            res = self._foreign[module].get(name)
            if res is not None:
                return res
        raise DataFileError(f"{where}: unknown external id {ref!r}")

    @staticmethod
    def convert(table: Table, column: str, value: Any, where: str) -> Any:
        if column not in table.c:
            raise DataFileError(f"{where}: table {table.name!r} has no column {column!r}")
        if value is None:
            return None
        ctype = table.c[column].type
        if isinstance(ctype, JSON):
            # YAML gives lists / mappings as they are; a string (a CSV cell) is JSON text
            if isinstance(value, str):
                if not value.strip():
                    return None
                try:
                    return json.loads(value)
                except ValueError as exc:
                    raise DataFileError(f"{where}: column {column!r}: not valid JSON: {exc}") from None
            return value
        if isinstance(value, str):
            if value == "" and not isinstance(ctype, Boolean):
                return None if table.c[column].nullable or not _is_text(ctype) else ""
            try:
                if isinstance(ctype, Boolean):
                    low = value.strip().lower()
                    if low in ("1", "true", "yes", "y", "t", "是"):
                        return True
                    if low in ("0", "false", "no", "n", "f", "否", ""):
                        return False
                    raise ValueError(f"not a boolean: {value!r}")
                if isinstance(ctype, Integer):
                    return int(value)
                if isinstance(ctype, Numeric):
                    return decimal.Decimal(value.strip())
                if isinstance(ctype, DateTime):
                    return dt.datetime.fromisoformat(value)
                if isinstance(ctype, Date):
                    return dt.date.fromisoformat(value)
            except (ValueError, decimal.InvalidOperation) as exc:
                raise DataFileError(f"{where}: column {column!r}: {exc}") from None
        if isinstance(value, float):
            raise DataFileError(
                f"{where}: column {column!r}: write numbers with decimals as strings "
                "(floats lose precision)"
            )
        return value

    # -- reading files ----------------------------------------------------------------
    def _read(self, path: Path) -> Iterator[tuple[str, list[_Rec]]]:
        suffix = path.suffix.lower()
        if suffix == ".csv":
            yield path.name.split(".", 1)[0], list(self._read_csv(path))
        else:
            yield from self._read_yaml(path)

    def _split(self, raw: dict[str, Any], where: str) -> tuple[str, dict, dict]:
        xmlid = raw.pop("id", None)
        if not xmlid or not isinstance(xmlid, str):
            raise DataFileError(f"{where}: record without an 'id' (external id)")
        if "." in xmlid:
            mod, _, xmlid = xmlid.partition(".")
            if mod != self.module:
                raise DataFileError(
                    f"{where}: external id {mod}.{xmlid} belongs to another module"
                )
        values: dict[str, Any] = {}
        refs: dict[str, str] = {}
        for key, value in raw.items():
            if key.endswith(":ref"):
                if value not in (None, ""):
                    refs[key[:-4]] = str(value)
                else:
                    values[key[:-4]] = None
            else:
                values[key] = value
        return xmlid, values, refs

    def _read_csv(self, path: Path) -> Iterator[_Rec]:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "id" not in reader.fieldnames:
                raise DataFileError(f"{path}: CSV header must contain an 'id' column")
            for lineno, row in enumerate(reader, start=2):
                where = f"{path}:{lineno}"
                if None in row:
                    raise DataFileError(f"{where}: more cells than header columns")
                xmlid, values, refs = self._split(dict(row), where)
                yield _Rec(xmlid, values, refs, False, where)

    def _read_yaml(self, path: Path) -> Iterator[tuple[str, list[_Rec]]]:
        try:
            doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlLoader)
        except yaml.YAMLError as exc:
            raise DataFileError(f"{path}: invalid YAML: {exc}".replace("\n", " ")) from None
        blocks = doc if isinstance(doc, list) else [doc]
        for bi, block in enumerate(blocks):
            where_b = f"{path}: block {bi + 1}"
            if not isinstance(block, dict) or "table" not in block or "records" not in block:
                raise DataFileError(f"{where_b}: expected a mapping with 'table' and 'records'")
            block_noupdate = bool(block.get("noupdate", False))
            recs = []
            for ri, raw in enumerate(block["records"] or []):
                where = f"{where_b}, record {ri + 1}"
                if not isinstance(raw, dict):
                    raise DataFileError(f"{where}: a record must be a mapping")
                raw = dict(raw)
                noupdate = bool(raw.pop("noupdate", block_noupdate))
                xmlid, values, refs = self._split(raw, where)
                recs.append(_Rec(xmlid, values, refs, noupdate, where))
            yield str(block["table"]), recs

    # -- loading ----------------------------------------------------------------------
    def load_file(self, path: Path, *, demo: bool = False) -> None:
        for table_name, recs in self._read(path):
            table = self.table(table_name, str(path))
            self._load_records(table, recs, demo=demo)

    def _load_records(self, table: Table, recs: list[_Rec], *, demo: bool) -> None:
        # rows whose recorded res_id still exists
        ids = [self.known[r.xmlid][1] for r in recs if r.xmlid in self.known]
        existing: set[int] = set()
        for i in range(0, len(ids), BATCH):
            chunk = ids[i : i + BATCH]
            existing.update(
                x for (x,) in self.conn.execute(select(table.c.id).where(table.c.id.in_(chunk)))
            )
        pending: list[tuple[_Rec, dict[str, Any]]] = []
        updates: list[dict[str, Any]] = []
        pending_names: set[str] = set()

        def flush_inserts() -> None:
            if not pending:
                return
            rows = [vals for _, vals in pending]
            if self.conn.dialect.name == "sqlite" and all("id" not in r for r in rows):
                # SQLite cannot batch INSERT .. RETURNING: number the rows ourselves (the
                # operation holds the write lock from its first write) and executemany
                start = self.conn.execute(select(func.max(table.c.id))).scalar() or 0
                new_ids = list(range(start + 1, start + 1 + len(rows)))
                groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
                for new_id, r in zip(new_ids, rows, strict=True):
                    groups.setdefault(tuple(sorted(r)), []).append({"id": new_id, **r})
                for grp in groups.values():
                    self.conn.execute(insert(table), grp)
            elif _same_keys(rows):
                res = self.conn.execute(
                    insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
                )
                new_ids = [r[0] for r in res]
            else:
                new_ids = [
                    self.conn.execute(insert(table).values(**vals).returning(table.c.id)).scalar_one()
                    for vals in rows
                ]
            md_rows = []
            for (rec, _), new_id in zip(pending, new_ids, strict=True):
                md_rows.append(
                    {
                        "module": self.module,
                        "name": rec.xmlid,
                        "table_name": table.name,
                        "res_id": new_id,
                        "noupdate": rec.noupdate,
                        "demo": demo,
                    }
                )
                self.known[rec.xmlid] = (table.name, new_id, rec.noupdate, demo)
            stale_names = [m["name"] for m in md_rows if m["name"] in self._stale_md]
            if stale_names:  # xmlid recorded but its row was deleted: replace the link
                self.conn.execute(
                    delete(MD).where(and_(MD.c.module == self.module, MD.c.name.in_(stale_names)))
                )
                self._stale_md.difference_update(stale_names)
            self.conn.execute(insert(MD), md_rows)
            self.result.created += len(pending)
            pending.clear()
            pending_names.clear()

        self._stale_md: set[str] = set()
        for rec in recs:
            if rec.xmlid in self.seen:
                raise DataFileError(f"{rec.line}: external id {rec.xmlid!r} defined twice")
            self.seen.add(rec.xmlid)
            vals = {
                k: self.convert(table, k, v, rec.line) for k, v in rec.values.items()
            }
            for col, ref in rec.refs.items():
                if ref in pending_names or ref.removeprefix(self.module + ".") in pending_names:
                    flush_inserts()
                if col not in table.c:
                    raise DataFileError(f"{rec.line}: table {table.name!r} has no column {col!r}")
                vals[col] = self.resolve(ref, rec.line)
            known = self.known.get(rec.xmlid)
            if known is not None and known[1] in existing and known[0] == table.name:
                if known[2]:  # noupdate
                    self.result.skipped_noupdate += 1
                    continue
                updates.append({"_id": known[1], **vals})
            else:
                if known is not None:
                    self._stale_md.add(rec.xmlid)
                pending.append((rec, vals))
                pending_names.add(rec.xmlid)
                if len(pending) >= BATCH:
                    flush_inserts()
        flush_inserts()
        # executemany needs the same keys in every row: group updates by their key set
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for u in updates:
            groups.setdefault(tuple(sorted(u)), []).append(u)
        for keys, rows in groups.items():
            cols = [k for k in keys if k != "_id"]
            if not cols:
                continue
            stmt = (
                update(table)
                .where(table.c.id == bindparam("_id"))
                .values({c: bindparam(c) for c in cols})
            )
            self.conn.execute(stmt, rows)
        self.result.updated += len(updates)

    def remove_stale(self, *, include_demo: bool) -> LoadResult:
        """Delete this module's records that the files loaded now no longer ship."""
        for name, (table_name, res_id, noupdate, demo) in sorted(self.known.items()):
            if name in self.seen or noupdate or (demo and not include_demo):
                continue
            table = self.table(table_name, f"external id {self.module}.{name}")
            try:
                with self.conn.begin_nested():
                    self.conn.execute(delete(table).where(table.c.id == res_id))
                    self.conn.execute(
                        delete(MD).where(and_(MD.c.module == self.module, MD.c.name == name))
                    )
                self.result.removed += 1
            except SQLAlchemyError as exc:
                # still referenced by other records: keep it, and never try again
                log.warning("kept %s.%s (still referenced): %s", self.module, name, exc)
                self.conn.execute(
                    update(MD)
                    .where(and_(MD.c.module == self.module, MD.c.name == name))
                    .values(noupdate=True)
                )
                self.result.kept.append(f"{self.module}.{name}")
        return self.result


def _is_text(ctype: Any) -> bool:
    try:
        return ctype.python_type is str
    except NotImplementedError:
        return False


def _same_keys(rows: Iterable[dict[str, Any]]) -> bool:
    first = None
    for r in rows:
        keys = r.keys()
        if first is None:
            first = keys
        elif keys != first:
            return False
    return True


def load_module_files(
    conn: Connection, module: str, folder: Path, files: Iterable[str], *, demo: bool = False
) -> DataLoader:
    loader = DataLoader(conn, module)
    for rel in files:
        loader.load_file(folder / rel, demo=demo)
    return loader
