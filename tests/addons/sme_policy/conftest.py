"""The ``sme`` fixture (the procurement world with sme_policy) for every sme_policy test."""

from tests.addons.sme_policy.sme_world import pb, sme  # noqa: F401
