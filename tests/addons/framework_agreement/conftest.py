"""The fixtures of the framework-agreement tests."""

from tests.addons.emall.em_world import em  # noqa: F401
from tests.addons.framework_agreement.fa_world import fa  # noqa: F401
