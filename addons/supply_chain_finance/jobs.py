"""Contract financing's periodic job: deliver the signed webhooks due in the outbox (run by
the platform's job runner, ``erp worker``; by hand: ``erp jobs run supply_chain_finance.deliver``
or ``erp scf deliver``). Each due event is posted once per run (rows locked with
``SKIP LOCKED``); failures wait for their backoff."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.jobs import periodic


@periodic("supply_chain_finance.deliver", module="supply_chain_finance", every="1m",
          doc="向金融机构推送到期的签名通知（失败的按退避时间重试，每次推送都有记录）")
def deliver(session: Session) -> int:
    from .webhooks import deliver_due

    counts = deliver_due(session)
    return counts["delivered"] + counts["retry"] + counts["failed"]
