"""Business rules of framework-agreement procurement (plain Python on a session, shared by
the API, the pages, the jobs and the tests)."""

from __future__ import annotations

from . import calloffs, discounts, notices, outside, reports, shortlist, solicitation
from .calloffs import (
    award_competition,
    direct_select,
    eligible_lines,
    ledger,
    release_cancelled,
    reserve,
    rotate,
    start_competition,
    submit_bid,
)
from .common import MODULE, entitled, get_agreement
from .notices import expire_and_summarise
from .notices import publish as publish_notice
from .outside import report_outside
from .shortlist import (
    confirm_shortlist,
    exit_agreement,
    max_shortlisted,
    reject_response,
    remove_member,
    review_application,
    sign,
    start_supplement,
    submit_response,
)
from .solicitation import AGREEMENT, ITEM, publish

__all__ = [
    "AGREEMENT", "ITEM", "MODULE", "award_competition", "calloffs", "discounts", "confirm_shortlist", "direct_select",
    "eligible_lines", "entitled", "exit_agreement", "expire_and_summarise", "get_agreement", "ledger",
    "max_shortlisted", "notices", "publish", "publish_notice", "reject_response", "release_cancelled",
    "remove_member", "report_outside", "reports", "outside", "reserve", "review_application", "rotate", "shortlist", "sign",
    "solicitation", "start_competition", "start_supplement", "submit_bid", "submit_response",
]
