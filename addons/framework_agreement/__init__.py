"""``framework_agreement``: framework-agreement procurement (财政部令第110号) with second-stage
call-offs through the e-mall's order channel ``framework``. See docs/framework_agreement.md."""

from . import hooks  # noqa: F401  (the e-mall's extension points)
