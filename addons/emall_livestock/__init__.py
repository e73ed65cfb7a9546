"""``emall_livestock``: the livestock pavilion (畜牧行业馆) of the provincial e-mall: the
livestock department's centralized procurement catalog (seed data in ``data/``), the
pavilion's landing page and search, the cold-chain delivery rule for biologics, and the
steering of livestock-system purchasers to the pavilion. See docs/emall_livestock.md."""

from . import services

# the cold-chain rule joins emall's listing and order validation (they act only while this
# module is installed, and only on categories that require the cold chain)
services.install_validators()
