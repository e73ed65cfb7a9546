"""``supply_chain_finance``: government-procurement contract financing (政采贷) - the
participating financial institutions, a supplier's application to a bank of its choosing,
the bank's decision, disbursement and repayments, no double financing, the repayment-account
lock enforced on every payment of ``procurement_base``, the bank API (idempotency keys,
signed webhooks) and the finance bureau's view. See docs/supply_chain_finance.md."""

# importing the services registers the payment validator (procurement_base.payment_validators)
from . import services  # noqa: F401
