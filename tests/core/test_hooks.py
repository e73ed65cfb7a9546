"""core.hooks: an implementation runs only where its module is installed AND enabled for the
region (None: installed on the platform)."""

from __future__ import annotations

import pytest

from core.hooks import Hook, all_hooks
from tests.conftest import cli, installer, query


def region_id(app, code: str) -> int:
    return query(app, "SELECT id FROM erp_region WHERE code = :c", c=code)[0][0]


@pytest.fixture
def hook():
    h = Hook("test.validators", doc="fn(value) -> str")

    @h.implement("fx_base")
    def fx(value):
        return f"fx:{value}"

    @h.implement("not_installed_module")
    def other(value):
        return f"other:{value}"

    return h


def test_outside_an_app_every_registration_runs(hook) -> None:
    assert sorted(hook.call(None, 1)) == ["fx:1", "other:1"]
    assert all_hooks()["test.validators"] is hook


def test_gated_by_installation_and_region_enablement(app, hook) -> None:
    installer(app).install(["fx_base"])
    assert cli(app, "tenant", "enable", "220000", "fx_base").exit_code == 0
    assert cli(app, "tenant", "disable", "220200", "fx_base").exit_code == 0
    with app.app_context():
        changchun, jilin_city = region_id(app, "220100"), region_id(app, "220200")
        # enabled for the province, inherited by 长春市
        assert hook.call(changchun, "x") == ["fx:x"]
        assert hook.modules(changchun) == ["fx_base"]
        # switched off for 吉林市: nothing runs there
        assert hook.call(jilin_city, "x") == []
        assert hook.implementations(jilin_city) == []
        # the platform: installed modules only
        assert hook.call(None, "x") == ["fx:x"]


def test_not_installed_means_never(app, hook) -> None:
    with app.app_context():
        assert hook.call(None, "x") == []
        assert hook.call(region_id(app, "220100"), "x") == []


def test_sequence_orders_and_reregistering_replaces() -> None:
    h = Hook("test.ordered")

    @h.implement("b", sequence=20)
    def second():
        return 2

    @h.implement("a", sequence=10)
    def first():
        return 1

    assert h.call(None) == [1, 2]

    @h.implement("a", sequence=10)
    def first():  # noqa: F811 - the same function imported again
        return 11

    assert h.call(None) == [11, 2]
    assert len(h.registered()) == 2
    h.unregister(second)
    assert h.call(None) == [11]


def test_implement_needs_a_module_name() -> None:
    with pytest.raises(ValueError):
        Hook("test.bad").implement("")
