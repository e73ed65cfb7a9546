"""Periodic jobs, declared by the modules, run by the platform's job runner.

A module declares a job next to the service it runs (imported at boot with the module)::

    from core.jobs import periodic

    @periodic("emall.close_comparisons", module="emall", every="5m",
              doc="关闭报价期已过的比价，通知采购人")
    def close_comparisons(session) -> int:
        ...  # idempotent: running it twice does nothing more than running it once
        return closed                       # how many things it did (logged)

Contract of a job function ``fn(session) -> int | None``:

* it runs inside a Flask app context with the platform (unscoped) session, like the ``erp``
  commands; the runner commits after it returns and rolls back if it raises;
* it is **idempotent** and safe to run twice or concurrently with itself (use a unique key,
  a status transition or ``SELECT ... FOR UPDATE SKIP LOCKED``);
* it runs where its module is installed on the platform (``module="core"``: always); work for a region where the module
  is switched off is the job's own business to skip (:func:`core.hooks` gating does not
  apply: a job is province-wide).

``every`` is an interval (``"30s"``, ``"5m"``, ``"1h"``, ``"1d"``); ``at`` (``"02:30"``) runs
a daily job at that local time instead. The runner (``erp worker``) and the list of jobs
(``erp jobs list`` / ``erp jobs run NAME``) are built on :func:`periodic_jobs`
(:mod:`core.worker`).

A module declares its jobs in its own ``jobs.py``, imported at boot by
:func:`load_declarations` (as ``workbench.py`` is for the workbench cards); the runner runs
a job only while its module is installed on the platform.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["PeriodicJob", "load_declarations", "periodic", "periodic_jobs", "parse_interval"]

JobFn = Callable[[Any], "int | None"]

_JOBS: dict[str, PeriodicJob] = {}
_lock = threading.Lock()
_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    module: str
    fn: JobFn
    every: dt.timedelta | None
    at: dt.time | None
    doc: str


def parse_interval(text: str) -> dt.timedelta:
    m = _INTERVAL.match(text or "")
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"bad job interval {text!r}: use e.g. '30s', '5m', '1h', '1d'")
    return dt.timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def periodic(name: str, *, module: str, every: str | None = None, at: str | None = None,
             doc: str = "") -> Callable[[JobFn], JobFn]:
    """Declare ``fn`` as the periodic job ``name`` (``"<module>.<what>"``) of ``module``."""
    if (every is None) == (at is None):
        raise ValueError(f"job {name!r}: give exactly one of every= or at=")
    interval = parse_interval(every) if every is not None else None
    at_time = dt.time.fromisoformat(at) if at is not None else None

    def deco(fn: JobFn) -> JobFn:
        job = PeriodicJob(name, module, fn, interval, at_time, doc or (fn.__doc__ or "").strip())
        with _lock:
            old = _JOBS.get(name)
            if old is not None and (old.fn.__module__, old.fn.__qualname__) != (
                    fn.__module__, fn.__qualname__):
                raise ValueError(f"job {name!r} is declared twice ({old.fn.__module__} and "
                                 f"{fn.__module__})")
            _JOBS[name] = job
        fn.erp_job = job  # type: ignore[attr-defined]
        return fn

    return deco


def periodic_jobs() -> list[PeriodicJob]:
    """Every declared job, by name."""
    with _lock:
        return [_JOBS[k] for k in sorted(_JOBS)]


def load_declarations(state: Any) -> None:
    """Import each installable add-on's ``jobs`` submodule (its jobs are declared there)."""
    for name in state.registry.order:
        if state.registry[name].installable:
            state.registry.submodule(name, "jobs")
