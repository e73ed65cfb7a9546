"""``notice_hub``: one-stop notices for the province (公告发布).

Every module submits its notices through :mod:`core.notices`; this module takes them into
its review-and-publish flow, publishes them on the public site (/notices/), pushes them to
the national portal through a transactional outbox and publishes them as OCDS 1.1.5.
See docs/notice_hub.md.
"""

from __future__ import annotations

from typing import Any

from core.jobs import periodic
from core.notices import PUBLISHERS, WITHDRAWN


@PUBLISHERS.implement("notice_hub")
def _take(session: Any, draft: Any) -> Any:
    from .services import take_draft

    return take_draft(session, draft)


@WITHDRAWN.implement("notice_hub")
def _withdrawn(session: Any, source: str, source_id: int) -> None:
    from .services import source_withdrawn

    source_withdrawn(session, source, source_id)


@periodic("notice_hub.deadlines", module="notice_hub", every="1h",
          doc="公告发布期限检查：提醒发布单位即将到期和已逾期的公告（每条每天一次）")
def deadline_job(session: Any) -> int:
    from .services import check_deadlines

    return check_deadlines(session)


from . import portal as _portal  # noqa: E402,F401  (declares the delivery job)
from .services import install_listeners  # noqa: E402

install_listeners()
