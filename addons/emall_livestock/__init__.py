"""``emall_livestock``: the livestock pavilion (畜牧行业馆) of the provincial e-mall: the
livestock department's centralized procurement catalog (seed data in ``data/``), the
pavilion's landing page and search, the cold-chain delivery rule for biologics, and the
steering of livestock-system purchasers to the pavilion. See docs/emall_livestock.md."""

# the cold-chain rule implements emall's listing and order hooks (addons.emall.hooks): core
# runs it only where this module is installed and enabled for the order's region, and it acts
# only on categories that require the cold chain
from . import services  # noqa: F401
