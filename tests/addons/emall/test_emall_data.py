"""The category data format: YAML with external ids, ``parent_id:ref`` and a JSON column
(the attribute template) - the core data loader reads JSON columns from YAML and CSV."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.addons.data import DataFileError, DataLoader
from core.db import db
from tests.conftest import installer, query


def test_category_seed_loads_tree_templates_and_catalog_links(app) -> None:
    installer(app).install(["emall"])
    rows = {r[0]: r for r in query(app, "SELECT code, name, parent_id, pb_catalog_id, attributes, "
                                        "pavilion, active FROM emall_category")}
    assert len(rows) >= 30
    desktop = rows["A02010105"]
    assert desktop[1] == "台式计算机" and desktop[5] is None and desktop[6] in (1, True)
    attrs = desktop[4] if isinstance(desktop[4], list) else json.loads(desktop[4])
    assert {"key": "os", "label": "操作系统", "type": "choice",
            "choices": ["国产操作系统", "Windows", "其他"], "required": True} in attrs
    # the tree: 台式计算机 -> 计算机 -> 信息化设备, linked to procurement_base's A0201
    ids = dict(query(app, "SELECT id, code FROM emall_category"))
    assert ids[desktop[2]] == "A020101"
    assert dict(query(app, "SELECT id, code FROM pb_catalog"))[desktop[3]] == "A0201"


def _load(app, tmp_path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with app.app_context(), db.engine.begin() as conn:
        DataLoader(conn, "emall_test").load_file(path)


def test_loader_reads_json_columns_from_yaml_and_csv(app, tmp_path) -> None:
    installer(app).install(["emall"])
    _load(app, tmp_path, "cats.yaml", """
table: emall_category
records:
  - id: vac
    code: X01
    name: 疫苗
    pavilion: livestock
    requires_cold_chain: true
    attributes:
      - {key: species, label: 适用动物, type: choice, choices: [猪, 牛, 羊], required: true}
      - {key: doses, label: 每瓶头份, type: number, unit: 头份}
  - id: vac_fmd
    code: X0101
    name: 口蹄疫疫苗
    "parent_id:ref": vac
    attributes: '[{"key": "antigen", "label": "抗原", "type": "text"}]'
""")
    _load(app, tmp_path, "emall_category.csv",
          'id,code,name,attributes\nc1,X02,饲料,"[{""key"": ""protein"", ""label"": ""粗蛋白"", '
          '""type"": ""number"", ""unit"": ""%""}]"\nc2,X03,兽药,\n')
    from addons.emall.models import EmallCategory

    with app.app_context():
        got = {c.code: c for c in db.session.execute(select(EmallCategory)).scalars()}
        assert got["X01"].attributes[0]["choices"] == ["猪", "牛", "羊"]
        assert got["X01"].requires_cold_chain is True and got["X01"].pavilion == "livestock"
        assert got["X0101"].parent_id == got["X01"].id
        assert got["X0101"].attributes == [{"key": "antigen", "label": "抗原", "type": "text"}]
        assert got["X02"].attributes == [{"key": "protein", "label": "粗蛋白", "type": "number",
                                          "unit": "%"}]
        assert got["X03"].attributes is None


def test_loader_refuses_bad_json_text_naming_the_line(app, tmp_path) -> None:
    installer(app).install(["emall"])
    with pytest.raises(DataFileError, match=r"emall_category\.csv:2: column 'attributes': not valid JSON"):
        _load(app, tmp_path, "emall_category.csv", "id,code,name,attributes\nc1,X09,坏数据,[oops\n")
