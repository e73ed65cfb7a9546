"""``scf_emall``: flow credit (流水信用贷) - with the supplier's consent (recorded, revocable)
the platform shows a financial institution the supplier's e-mall transaction profile over the
last 12 and 24 months and an indicative line; the institution sets and records its line.
The bridge of ``supply_chain_finance`` (the institutions) and ``emall`` (the orders).
See docs/scf_emall.md."""

# the accepted e-mall order as a financeable contract, and its payments under the repayment
# lock: implementations of supply_chain_finance's and emall's hooks (run only where this
# bridge is installed and enabled for the record's region)
from . import financing, services  # noqa: F401
