"""Business rules of ``deposit_ledger``: plain Python on a SQLAlchemy session.

* recording a deposit (caps of 条例 art. 33 / 48 as settings, forms and guarantees), its
  receipt entry in the same transaction;
* refund-due dates from the trigger event in working days (Civil Code art. 201: the day of
  the event is not counted), and the due today / due soon / overdue lists;
* the late-refund fee of 87号令 art. 38 (principal x LPR x 1.2 x days / basis; each LPR in
  force applied to its own days);
* the ledger operations - refund, forfeiture (only for a reason the project lists),
  remittance to the treasury, conversion of a winner's bid deposit into the performance
  deposit, release of a guarantee, reversal - each one locking the deposit row (``SELECT
  ... FOR UPDATE``) and moving its status by a named transition of :data:`DEPOSIT_FLOW`
  (audited); the ledger is insert-only (ORM guard here, database triggers in the
  migration).

Errors: :class:`RuleError` (422, ``{field: [Chinese message]}``), ``TransitionError`` (409
for a state that no longer allows the operation: a second refund, a concurrent one).

The package, by job: :mod:`.common` (settings, the status machine, helpers), :mod:`.balances`
(balances, late fee, due dates), :mod:`.deposits` (recording a deposit), :mod:`.ledger` (the
ledger operations), :mod:`.lists` (due lists), :mod:`.guards` (insert-only ledger, audit
listeners), :mod:`.reference` (deletion rules, forfeiture reasons, LPR rates). Every name the
former single module had is re-exported here (``services.X``, ``from .services import X``).
"""

from __future__ import annotations

from addons.procurement_base.models import (  # noqa: F401
    PROJECT_STATES,
    Bid,
    Contract,
    Project,
)
from addons.procurement_base.services import (  # noqa: F401
    DuplicateError,
    Errors,
    RuleError,
    check_money,
    today,
)
from core import (  # noqa: F401
    tenancy,
)
from core.models import (  # noqa: F401
    Organization,
)
from core.rules import (  # noqa: F401
    is_persisted,
    related_object,
    stored_value,
    text_value,
)
from core.services import (  # noqa: F401
    audit,
    settings,
    workdays,
)
from core.services.calendar import (  # noqa: F401
    CalendarNotCovered,
)
from core.services.money import (  # noqa: F401
    fmt_yuan,
    percent_cap,
    to_money,
)
from core.services.statemachine import (  # noqa: F401
    StateMachine,
    Transition,
    TransitionError,
)
from core.tenancy import (  # noqa: F401
    Scope,
    ScopeViolation,
    current_scope,
)

from ..models import (  # noqa: F401
    ENTRY_KINDS,
    FORMS,
    GUARANTEE_TYPES,
    KINDS,
    STATES,
    TRIGGERS,
    Deposit,
    DepositEntry,
    ForfeitReason,
    LprRate,
    ProjectForfeitReason,
)
from .balances import (  # noqa: F401
    BUCKET,
    Balances,
    LateFee,
    accrued_late_fee,
    balances,
    compute_due,
    late_fee,
    live_entries,
    lpr_periods,
    refund_days,
    suggested_trigger,
)
from .common import (  # noqa: F401
    _ISO,
    DEPOSIT_FLOW,
    FEN,
    MODULE,
    MONEY_FORMS,
    REFUND_DAYS,
    REVERSE_OF,
    ZERO,
    LedgerImmutableError,
    _actor_name,
    _date,
    _lock,
    _missing,
    _now,
    _old,
    _pct,
    _rel,
    _text,
    parse_iso_date,
)
from .deposits import (  # noqa: F401
    _BEIJING,
    EDITABLE_AFTER_RECEIPT,
    _check_manages,
    _finish_trigger,
    _termination_date,
    _validate_edit,
    _withdrawal_date,
    add_receipt,
    record_deposit,
    trigger_mismatch,
    validate_deposit,
)
from .guards import (  # noqa: F401
    AUDITED,
    _audit,
    _guard_bulk,
    _guard_ledger,
    _install_listeners,
)
from .ledger import (  # noqa: F401
    _check_amount,
    _entry,
    _entry_date,
    _prepare,
    convert,
    forfeit,
    project_reasons,
    record_guarantee_claim,
    record_trigger,
    refund,
    release,
    remit,
    reverse,
)
from .lists import (  # noqa: F401
    due_query,
    due_window,
    entry_label,
    ids,
)
from .reference import (  # noqa: F401
    check_delete,
    validate_lpr,
    validate_project_reason,
)

__all__ = [
    "DEPOSIT_FLOW", "LedgerImmutableError", "RuleError", "DuplicateError", "TransitionError",
    "accrued_late_fee", "balances", "compute_due", "convert", "forfeit", "late_fee", "record_deposit", "refund",
    "release", "remit", "reverse", "validate_deposit",
]
