"""``scf_deposit``: electronic guarantees (电子保函) in place of bid and performance deposits -
the bridge of ``supply_chain_finance`` (the institutions) and ``deposit_ledger`` (the deposit
recorded as a guarantee). See docs/scf_deposit.md."""

# importing the services installs the listener keeping a guarantee's state in step with its
# deposit (released / claimed in the deposit ledger)
from . import services  # noqa: F401
