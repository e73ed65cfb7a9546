"""``emall``: the province's e-mall (电子卖场) under unified trading rules and admission
conditions: categories with attribute templates, supplier admission, listings, the public
catalog, cart and orders, online price comparison (竞价), acceptance and contracts, price
monitoring and dashboards. See docs/emall.md."""
