"""``deposit_ledger``: bid and performance deposits (投标保证金、履约保证金) - receipt, refund on
time with the late fee, forfeiture and remittance to the treasury, conversion, the immutable
ledger, the cleanup of old deposits, bank reconciliation and the finance dashboard."""
