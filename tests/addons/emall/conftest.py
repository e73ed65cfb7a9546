"""The ``em`` fixture (a small e-mall world) for every emall test."""

from tests.addons.emall.em_world import em  # noqa: F401
