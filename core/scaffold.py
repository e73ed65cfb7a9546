"""``erp module scaffold NAME [--depends a,b]``: write a new add-on in the house style.

The module it writes is small but complete and installable as it stands:

* ``__manifest__.py`` (depends on ``base`` and the modules given, a role for its users);
* ``models.py``: one region-scoped record (``<name>_record``: code, title, amount as
  ``Numeric(18, 2)``, status, note);
* ``migrations/0001_<name>.py``: its Alembic branch (create / drop the table);
* ``services.py``: the record's state machine (one transition, ``submit``, audited) and its
  rules object (:class:`core.rules.ModelRules`), plain Python;
* ``actions.py``: the transition declared once (:mod:`core.actions`): API endpoint
  ``POST /api/v1/<name>_record/<pk>/transition/submit`` and the page button;
* ``api.py`` / ``views.py``: :class:`core.api.ErpModelRestApi` and
  :class:`core.views.ErpModelView` sharing the rules object and the actions;
* ``demo/<name>_record.csv``: one demo row (in the province, 220000);
* a docs stub and a passing test.

In the project (the default target, ``addons/``) the docs stub is ``docs/<name>.md`` and the
test ``tests/addons/<name>/test_<name>.py``; in another add-ons folder (``--path``) both go
into the module's folder (``README.md``, ``tests/test_<name>.py``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

__all__ = ["ScaffoldError", "scaffold"]

ROOT = Path(__file__).resolve().parent.parent
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class ScaffoldError(ValueError):
    """The module cannot be written (bad name, existing folder, unknown dependency)."""


@dataclass(frozen=True)
class Written:
    module_dir: Path
    files: tuple[Path, ...]


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_") if part)


def scaffold(name: str, *, depends: list[str] | tuple[str, ...] = (), path: Path | None = None,
             available: set[str] | None = None, title: str | None = None) -> Written:
    """Write module ``name`` into ``path`` (default: the project's ``addons/``).

    ``available``: the names of the modules a dependency may name (default: the folders with
    a ``__manifest__.py`` in the project's ``addons/`` and in ``path``)."""
    if not NAME_RE.match(name or ""):
        raise ScaffoldError(f"bad module name {name!r}: lower-case letters, digits and _, "
                            "starting with a letter, at most 64 characters")
    target = (path or ROOT / "addons").resolve()
    in_project = target == (ROOT / "addons").resolve()
    module_dir = target / name
    if module_dir.exists():
        raise ScaffoldError(f"{module_dir} exists already")
    if available is None:
        available = {p.parent.name for p in (ROOT / "addons").glob("*/__manifest__.py")}
        available |= {p.parent.name for p in target.glob("*/__manifest__.py")}
    deps = ["base"] + [d for d in dict.fromkeys(depends) if d and d != "base"]
    for dep in deps:
        if dep == name:
            raise ScaffoldError(f"{name} cannot depend on itself")
        if dep not in available:
            raise ScaffoldError(f"depends on {dep!r}, which is not an available module")
    values = {
        "name": name,
        "Camel": camel(name),
        "title": title or name,
        "depends": repr(deps),
        "extra_paths": "[]" if in_project else "[str(Path(__file__).resolve().parents[2])]",
        "path_import": "" if in_project else "from pathlib import Path\n\n",
    }
    files: dict[Path, str] = {
        module_dir / "__manifest__.py": MANIFEST,
        module_dir / "__init__.py": INIT,
        module_dir / "models.py": MODELS,
        module_dir / "services.py": SERVICES,
        module_dir / "actions.py": ACTIONS,
        module_dir / "api.py": API,
        module_dir / "views.py": VIEWS,
        module_dir / "migrations" / f"0001_{name}.py": MIGRATION,
        module_dir / "demo" / f"{name}_record.csv": DEMO,
    }
    if in_project:
        files[ROOT / "docs" / f"{name}.md"] = DOCS
        test_dir = ROOT / "tests" / "addons" / name
        files[test_dir / "__init__.py"] = ""
        files[test_dir / f"test_{name}.py"] = TEST
    else:
        files[module_dir / "README.md"] = DOCS
        files[module_dir / "tests" / "__init__.py"] = ""
        files[module_dir / "tests" / f"test_{name}.py"] = TEST
    for file in files:
        if file.exists():
            raise ScaffoldError(f"{file} exists already")
    written = []
    for file, template in files.items():
        file.parent.mkdir(parents=True, exist_ok=True)
        text = Template(template).substitute(values)
        if file.suffix == ".py":
            ast.parse(text, str(file))  # a template bug must never write broken code
        file.write_text(text, encoding="utf-8")
        written.append(file)
    return Written(module_dir, tuple(written))


MANIFEST = '''{
    "name": "$title",
    "version": "1.0.0",
    "summary": "$title：记录的登记、提交（由 erp module scaffold 生成，请改写）",
    "category": "Uncategorized",
    "depends": $depends,
    "demo": ["demo/${name}_record.csv"],
    "roles": {
        "$title 经办": [
            "can_list on ${Camel}Record", "can_show on ${Camel}Record", "can_add on ${Camel}Record",
            "can_edit on ${Camel}Record", "can_delete on ${Camel}Record",
            "can_get on ${Camel}Record", "can_post on ${Camel}Record", "can_put on ${Camel}Record",
            "can_delete on ${Camel}Record", "can_info on ${Camel}Record",
            "can_transition on ${Camel}Record", "menu_access on ${Camel}Records",
            "menu_access on $title",
        ],
    },
}
'''

INIT = '''"""``$name``: $title. See the docs stub next to the module (written by ``erp module
scaffold``)."""
'''

MODELS = '''"""The records of ``$name`` (region-scoped: a user sees those of their region and below)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import DateTime, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Model
from core.tenancy import RegionScoped

STATES = {"draft": "草稿", "submitted": "已提交"}


class ${Camel}Record(RegionScoped, Model):
    """One record of $title."""

    __tablename__ = "${name}_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False, default=Decimal("0.00"))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="draft")
    note: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    def __repr__(self) -> str:
        return f"{self.code} {self.title}"

    __str__ = __repr__
'''

SERVICES = '''"""Business rules of ``$name``: plain Python on a session, shared by the API, the page,
the CLI and the tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import ConflictError, DuplicateError, RuleError
from core.rules import ModelRules
from core.services import audit
from core.services.money import MoneyError, to_money
from core.services.statemachine import StateMachine, Transition

from .models import STATES, ${Camel}Record

MODULE = "$name"

FLOW = StateMachine(
    field="status", states=STATES, initial="draft", subject_zh="记录",
    transitions=[Transition("submit", "draft", "submitted", label_zh="提交")],
    on_transition=audit.transition_hook(module=MODULE),
)


class RecordRules(ModelRules):
    """One rules object, used by the API and the page alike."""

    def validate(self, session: Session, item: ${Camel}Record) -> None:
        errors: dict[str, list[str]] = {}
        if not (item.code or "").strip():
            errors["code"] = ["请填写编号"]
        if not (item.title or "").strip():
            errors["title"] = ["请填写名称"]
        try:
            amount = to_money(item.amount if item.amount is not None else "0")
        except MoneyError as exc:
            errors["amount"] = [str(exc)]
        else:
            if amount < 0:
                errors["amount"] = ["金额不能为负数"]
            item.amount = amount
        if errors:
            raise RuleError(errors)
        same = select(func.count()).select_from(${Camel}Record).where(
            ${Camel}Record.code == item.code.strip())
        if item.id is not None:
            same = same.where(${Camel}Record.id != item.id)
        if session.scalar(same.execution_options(erp_unscoped=True)):
            raise DuplicateError({"code": ["编号已存在"]})
        item.code = item.code.strip()
        if item.status is None:
            item.status = "draft"

    def before_update(self, session: Session, item: ${Camel}Record) -> None:
        if item.status != "draft" and self.changed(item, "code", "title", "amount"):
            raise RuleError({"_schema": ["已提交的记录不能修改编号、名称和金额"]})
        super().before_update(session, item)

    def may_delete(self, session: Session, item: ${Camel}Record) -> None:
        if item.status != "draft":
            raise ConflictError("只能删除草稿状态的记录")


RULES = RecordRules()


def transition(session: Session, record: ${Camel}Record, name: str, *,
               reason: str | None = None) -> Any:
    """Move ``record`` along :data:`FLOW` (audited; refusals are core.errors errors)."""
    event = FLOW.trigger(record, name, reason=reason, session=session)
    if name == "submit":
        record.submitted_at = dt.datetime.now().replace(microsecond=0)
    return event
'''

ACTIONS = '''"""The record's transitions declared once (core.actions): the API endpoint
``POST /api/v1/${name}_record/<pk>/transition/<name>`` and the page buttons."""

from __future__ import annotations

from typing import Any

from core.actions import Actions

from . import services
from .models import STATES


def _move(session: Any, record: Any, name: str, body: dict[str, Any]) -> Any:
    return services.transition(session, record, name, reason=body.get("reason"))


def _result(session: Any, record: Any, _value: Any) -> dict[str, Any]:
    return {"id": record.id, "status": record.status, "status_label": STATES[record.status]}


RECORD_ACTIONS = Actions.from_machine(
    services.FLOW, _move, result=_result, module=services.MODULE,
    done=lambda record, event: f"已执行“{event.label_zh}”，状态：{STATES[record.status]}")
'''

API = '''"""The REST API of ``$name`` (``/api/v1/${name}_record/``)."""

from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface

from core.api import ErpModelRestApi

from . import services
from .actions import RECORD_ACTIONS
from .models import ${Camel}Record


class ${Camel}RecordApi(ErpModelRestApi):
    title = "$title"
    resource_name = "${name}_record"
    datamodel = SQLAInterface(${Camel}Record)
    class_permission_name = "${Camel}Record"
    rules = services.RULES
    record_actions = RECORD_ACTIONS
    list_columns = ["id", "code", "title", "amount", "status", "note", "region.id", "region.name"]
    show_columns = list_columns
    add_columns = ["code", "title", "amount", "note", "region"]
    edit_columns = ["code", "title", "amount", "note"]
    label_columns = {"code": "编号", "title": "名称", "amount": "金额", "status": "状态",
                     "note": "备注", "region": "所在地区"}


def register(appbuilder) -> None:
    appbuilder.add_api(${Camel}RecordApi)
'''

VIEWS = '''"""The pages of ``$name``."""

from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface

from core.views.base import ErpModelView, labelled, money_text

from . import services
from .actions import RECORD_ACTIONS
from .models import STATES, ${Camel}Record


class ${Camel}RecordView(ErpModelView):
    datamodel = SQLAInterface(${Camel}Record)
    class_permission_name = "${Camel}Record"
    rules = services.RULES
    record_actions = RECORD_ACTIONS
    list_title = show_title = "$title"
    add_title = "新增$title"
    edit_title = "修改$title"
    list_columns = ["code", "title", "amount", "status", "region"]
    show_columns = ["code", "title", "amount", "status", "note", "region", "submitted_at"]
    add_columns = ["code", "title", "amount", "note", "region"]
    edit_columns = ["code", "title", "amount", "note"]
    label_columns = {"code": "编号", "title": "名称", "amount": "金额", "status": "状态",
                     "note": "备注", "region": "所在地区", "submitted_at": "提交时间"}
    formatters_columns = {"amount": money_text, "status": labelled(STATES)}


def register(appbuilder) -> None:
    appbuilder.add_view(${Camel}RecordView, "${Camel}Records", label="$title记录",
                        category="$title")
'''

MIGRATION = '''"""$name: create ${name}_record"""

import sqlalchemy as sa
from alembic import op

revision = "${name}_0001"
down_revision = None
branch_labels = ("$name",)
depends_on = "0001_core"


def upgrade():
    op.create_table(
        "${name}_record",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("submitted_at", sa.DateTime()),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id"), nullable=False),
    )
    op.create_index("ix_${name}_record_region_id", "${name}_record", ["region_id"])


def downgrade():
    op.drop_index("ix_${name}_record_region_id", table_name="${name}_record")
    op.drop_table("${name}_record")
'''

DEMO = '''id,code,title,amount,status,note,region_id:ref
demo_record_1,DEMO-0001,示例记录,1000.00,draft,由 erp module scaffold 生成的演示数据,core.region_220000
'''

DOCS = '''# $title (`$name`)

Written by `erp module scaffold $name`; replace this page with what the module does, for
whom, and the rules it enforces (see docs/module-authors.md).

- Records: `${name}_record` (region-scoped), page 「$title」, API `/api/v1/${name}_record/`.
- Transition: `submit` (草稿 → 已提交), `POST /api/v1/${name}_record/<id>/transition/submit`.
- Rules (`services.RecordRules`, used by the API and the page): code and title required,
  code unique, amount not negative; a submitted record keeps its code, title and amount;
  only drafts may be deleted.
- Demo: one draft record in the province (220000).
'''

TEST = '''"""The generated module installs, serves its API and moves a record along its flow
(written by ``erp module scaffold``; extend it with the module's real rules)."""

from __future__ import annotations

${path_import}from sqlalchemy import text

from tests.conftest import init_db, installer
from tests.core.test_web import jwt

EXTRA_ADDONS = $extra_paths
API = "/api/v1/${name}_record/"


def test_${name}_installs_and_submits(app_factory) -> None:
    app = app_factory(paths=EXTRA_ADDONS)
    init_db(app)
    installer(app).install(["$name"], demo=True)
    with app.app_context():
        from core.db import db

        province = db.session.execute(text("SELECT id FROM erp_region WHERE code = '220000'")).scalar()
    client = app.test_client()
    headers = jwt(client)
    res = client.get(API, headers=headers)
    assert res.status_code == 200, res.json
    assert [r["code"] for r in res.json["result"]] == ["DEMO-0001"]
    # a bad record is refused field by field, nothing written
    res = client.post(API, headers=headers,
                      json={"code": " ", "title": " ", "amount": "-1", "region": province})
    assert res.status_code == 422, res.json
    assert {"code", "title", "amount"} <= set(res.json["message"]), res.json
    res = client.post(API, headers=headers,
                      json={"code": "T-1", "title": "测试", "amount": "12.50", "region": province})
    assert res.status_code == 201, res.json
    pk = res.json["id"]
    res = client.post(f"{API}{pk}/transition/submit", headers=headers, json={})
    assert res.status_code == 200, res.json
    assert res.json["result"]["status"] == "submitted"
    # submitted: a second submit is refused, and the record can no longer be deleted
    res = client.post(f"{API}{pk}/transition/submit", headers=headers, json={})
    assert res.status_code in (409, 422), res.json
    assert client.delete(f"{API}{pk}", headers=headers).status_code == 409
'''
