"""Version counters in ``erp_signal`` that tell workers to refresh their caches."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from core.models import Signal

SIG = Signal.__table__


def bump(name: str, session_or_conn: Any) -> None:
    """Increment a counter, in its own short transaction when given a session after commit."""
    if isinstance(session_or_conn, Session):
        bind = session_or_conn.get_bind()
        with bind.begin() as conn:
            conn.execute(update(SIG).where(SIG.c.name == name).values(value=SIG.c.value + 1))
        try:
            from flask import current_app

            state = current_app.extensions.get("erp")
            if state is not None:
                state.cache.invalidate()
        except RuntimeError:  # no app context
            pass
    else:
        session_or_conn.execute(
            update(SIG).where(SIG.c.name == name).values(value=SIG.c.value + 1)
        )
