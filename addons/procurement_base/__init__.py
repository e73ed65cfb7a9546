"""``procurement_base``: the records every procurement module shares — organisations
(directory pages), the procurement catalog, projects, packages, bids, contracts, payment
plans and payments, with their business rules (``services``), pages (``views``), APIs
(``api``) and Excel exports (``reports``)."""

from sqlalchemy import text


def post_install(ctx):
    """Runs at install and every upgrade (idempotent, inside the operation's transaction):
    a bid written without its project (e.g. by a data file) gets its package's project."""
    ctx.connection.execute(text(
        "UPDATE pb_bid SET project_id = "
        "(SELECT pb_package.project_id FROM pb_package WHERE pb_package.id = pb_bid.package_id) "
        "WHERE project_id IS NULL"
    ))
