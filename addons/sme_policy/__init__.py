"""``sme_policy``: SME set-asides (中小企业预留) - the set-aside rules checked at publication, the
中小企业声明函 per bid, the price deduction for small and micro firms, and the annual disclosure
of each competent budget unit with reminders and the finance bureaus' dashboards
(docs/sme_policy.md)."""

from . import extensions  # noqa: F401  (hook implementations and the periodic job)
