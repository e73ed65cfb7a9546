"""``scf_emall``: flow credit (流水信用贷) - with the supplier's consent (recorded, revocable)
the platform shows a financial institution the supplier's e-mall transaction profile over the
last 12 and 24 months and an indicative line; the institution sets and records its line.
The bridge of ``supply_chain_finance`` (the institutions) and ``emall`` (the orders).
See docs/scf_emall.md."""
