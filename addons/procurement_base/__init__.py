"""``procurement_base``: the records every procurement module shares."""
