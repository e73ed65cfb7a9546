"""``scf_advance``: advance-payment insurance / guarantees (预付款保险、预付款保函) on procurement
contracts, part of supply-chain finance (auto-installed with ``supply_chain_finance``). See
docs/scf_advance.md."""
