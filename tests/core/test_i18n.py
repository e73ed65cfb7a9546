"""UI language: Simplified Chinese by default (the platform's pages and FAB's own), English
after FAB's locale switch (``GET /lang/en``); the committed catalog is complete and its
compiled ``messages.mo`` matches ``messages.po`` (docs/i18n.md)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from tests.conftest import ROOT, installer
from tests.core.test_web import login_form

CORE = ROOT / "core"
TRANSLATIONS = CORE / "translations"
ZH = TRANSLATIONS / "zh" / "LC_MESSAGES"


def _page(client, url: str) -> str:
    res = client.get(url)
    assert res.status_code == 200, (url, res.status_code)
    return res.get_data(as_text=True)


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_platform_pages_are_chinese_by_default(app) -> None:
    installer(app).install(["fx_base"])
    client = app.test_client()
    login_form(client)
    page = _page(client, "/erp/modules/")
    assert "模块管理" in page and "平台级安装、升级与卸载" in page
    assert "已安装" in page and "未安装" in page
    assert "<td>Fixture child、Fixture other</td>" in page, "the list separator of Chinese"
    assert "平台管理" in page, "the menu category"
    assert "Not installed" not in page and "Platform-wide" not in page
    page = _page(client, "/erp/tenant/220100/")
    assert "本地区模块：长春市" in page and "未启用" in page and "南关区（220102）" in page
    assert "Region modules" not in page and "Not enabled" not in page


def test_lang_en_switches_platform_pages_to_english_and_back(app) -> None:
    client = app.test_client()
    login_form(client)
    res = client.get("/lang/en")
    assert res.status_code == 302
    page = _page(client, "/erp/modules/")
    assert "Modules" in page and "Platform-wide install, upgrade and uninstall" in page
    assert "Not installed" in page and "Depends on" in page
    assert "<td>Fixture child, Fixture other</td>" in page, "the list separator of English"
    # the admin's name in the navbar (平台管理员) is data, never translated
    assert "模块管理" not in page and "未安装" not in page
    assert "平台管理" not in page.replace("平台管理员", "")
    confirm = _page(client, "/erp/modules/install/fx_child")
    assert "Confirm Install: <code>fx_child</code>" in confirm
    assert "fx_base</code> (installed along as a dependency or bridge)" in confirm
    done = client.post("/erp/modules/install/fx_child", data={"csrf_token": _csrf(confirm)},
                       follow_redirects=True).get_data(as_text=True)
    assert "Installed: fx_base, fx_child" in done, "flash messages follow the language"
    page = _page(client, "/erp/tenant/220100/")
    assert "Region modules: 长春市" in page, "region names are data: never translated"
    assert "Not enabled" in page and "南关区 (220102)" in page
    assert "本地区模块" not in page and "未启用" not in page
    page = _page(client, "/erp/audit/list/")
    assert "Audit log" in page and "Export to Excel (current filters)" in page
    assert client.get("/lang/zh").status_code == 302
    page = _page(client, "/erp/modules/")
    assert "模块管理" in page and "已安装" in page and "Not installed" not in page


def test_fab_login_page_is_chinese_by_default_and_english_after_switch(app) -> None:
    client = app.test_client()
    page = _page(client, "/login/")
    assert "用户名" in page and "密码" in page and "请在下面输入您的用户名和密码" in page
    assert "Username" not in page
    assert client.get("/lang/en").status_code == 302
    page = _page(client, "/login/")
    assert "Username" in page and "Password" in page and "Sign In" in page
    assert "用户名" not in page and "密码" not in page


def _messages(catalog) -> dict:
    def frozen(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    return {(frozen(m.id), m.context): frozen(m.string) for m in catalog if m.id}


def test_committed_mo_matches_the_po(tmp_path: Path) -> None:
    with (ZH / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="zh")
    errors = [(m.id, [str(e) for e in errs]) for m, errs in catalog.check()]
    assert not errors, f"placeholders of msgid and msgstr disagree: {errors}"
    assert not [m.id for m in catalog if m.id and m.fuzzy], "fuzzy entries are not compiled"
    compiled = tmp_path / "messages.mo"
    with compiled.open("wb") as f:
        write_mo(f, catalog)
    with compiled.open("rb") as f:
        fresh = _messages(read_mo(f))
    with (ZH / "messages.mo").open("rb") as f:
        committed = _messages(read_mo(f))
    assert committed == fresh, (
        "core/translations/zh/LC_MESSAGES/messages.mo is stale: run "
        "`cd core && ../.venv/bin/pybabel compile -d translations -l zh` and commit it"
    )


def test_every_message_in_the_sources_has_a_chinese_translation() -> None:
    with (TRANSLATIONS / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    extracted = {
        (msg[0] if isinstance(msg, tuple) else msg, context)
        for _file, _line, msg, _comments, context in extract_from_dir(
            str(CORE), method_map, options_map, keywords=DEFAULT_KEYWORDS
        )
    }
    assert ("Modules", None) in extracted and ("Not installed", None) in extracted
    with (ZH / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="zh")
    translated = {
        (m.id[0] if m.pluralizable else m.id, m.context)
        for m in catalog
        if m.id and not m.fuzzy and all(m.string if m.pluralizable else [m.string])
    }
    missing = sorted(extracted - translated, key=str)
    assert not missing, (
        f"messages without a Chinese translation: {missing}; run pybabel extract / update, "
        "translate, compile (docs/i18n.md)"
    )
    stale = sorted({(m.id[0] if m.pluralizable else m.id, m.context) for m in catalog if m.id}
                   - extracted, key=str)
    assert not stale, f"catalog entries no source uses any more: {stale} (pybabel update)"


def test_catalog_does_not_change_the_chinese_of_fab_own_strings() -> None:
    """Our catalog is merged after FAB's and wins on equal msgids: reusing one of FAB's
    msgids with another Chinese text would change FAB's own pages (e.g. FAB translates
    "Back" as 后退, so the Modules page says "Back to Modules")."""
    import flask_appbuilder

    fab_po = Path(flask_appbuilder.__file__).parent / "translations/zh/LC_MESSAGES/messages.po"
    with fab_po.open("rb") as f:
        fab = _messages(read_po(f, locale="zh"))
    with (ZH / "messages.po").open("rb") as f:
        ours = _messages(read_po(f, locale="zh"))
    clashes = {k: (fab[k], v) for k, v in ours.items() if k in fab and fab[k] and fab[k] != v}
    assert not clashes, f"msgids FAB translates differently (FAB, ours): {clashes}"


def test_chinese_catalog_is_loaded_from_core_translations(app) -> None:
    """FAB's babel manager appends the app's ``translations`` folder (under core/, the
    Flask root path) to its own; ours is found there."""
    from flask_babel import get_babel

    with app.app_context():
        dirs = [Path(d).resolve() for d in get_babel().translation_directories]
    assert TRANSLATIONS.resolve() in dirs
    assert (ZH / "messages.mo").read_bytes()[:4] in (b"\xde\x12\x04\x95", b"\x95\x04\x12\xde"), (
        "a compiled gettext catalog"
    )
