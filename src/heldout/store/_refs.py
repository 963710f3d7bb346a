"""Run references: a full id, a unique prefix of one, ``latest`` or ``latest:NAME``."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from heldout._errors import StoreError
from heldout.store._codec import from_utc
from heldout.store._schema import RunRow

__all__ = ["MIN_PREFIX", "NEWEST", "resolve_ref"]

#: Fewest characters of a run id accepted as a prefix.
MIN_PREFIX = 4
#: Newest run first; the id breaks ties so the order is total.
NEWEST = (RunRow.created_at.desc(), RunRow.id.desc())

_LIST_HINT = "list runs with `heldout runs`"


def resolve_ref(session: Session, ref: str, url: str) -> str:
    """The id of the run ``ref`` names (see :meth:`Store.resolve`); ``url`` is for messages."""
    ref = ref.strip()
    if ref == "latest":
        latest = session.scalar(select(RunRow.id).order_by(*NEWEST).limit(1))
        if latest is None:
            raise StoreError(f"no runs in {url} yet; record one with `heldout run`")
        return latest
    if ref.startswith("latest:"):
        return _latest_named(session, ref.removeprefix("latest:"), url)
    if session.scalar(select(RunRow.id).where(RunRow.id == ref)) is not None:
        return ref
    if len(ref) < MIN_PREFIX:
        raise StoreError(
            f'no run "{ref}" in {url}: give a run id or at least {MIN_PREFIX} of '
            f'its first characters, "latest" or "latest:NAME"; {_LIST_HINT}'
        )
    # substr, not LIKE: exact and case-sensitive on every backend, no escaping needed.
    matches = session.execute(
        select(RunRow.id, RunRow.name, RunRow.created_at, RunRow.created_utcoffset)
        .where(func.substr(RunRow.id, 1, len(ref)) == ref)
        .order_by(*NEWEST)
        .limit(11)
    ).all()
    if not matches:
        raise StoreError(f'no run "{ref}" in {url}; {_LIST_HINT}')
    if len(matches) > 1:
        shown = ", ".join(
            f"{m.id} ({m.name}, {from_utc(m.created_at, m.created_utcoffset):%Y-%m-%d %H:%M})"
            for m in matches[:10]
        )
        more = ", and more" if len(matches) > 10 else ""
        raise StoreError(
            f'run prefix "{ref}" is ambiguous in {url}: it matches {shown}{more}; '
            "give more characters of the id"
        )
    run_id: str = matches[0].id
    return run_id


def _latest_named(session: Session, name: str, url: str) -> str:
    if not name:
        raise StoreError(f'"latest:" needs a run name, as in "latest:my-eval"; {_LIST_HINT}')
    latest = session.scalar(select(RunRow.id).where(RunRow.name == name).order_by(*NEWEST).limit(1))
    if latest is None:
        names = session.scalars(
            select(RunRow.name).group_by(RunRow.name).order_by(RunRow.name).limit(10)
        ).all()
        known = f" (names: {', '.join(names)})" if names else " (the store has no runs yet)"
        raise StoreError(f'no run named "{name}" in {url}{known}; {_LIST_HINT}')
    return latest
