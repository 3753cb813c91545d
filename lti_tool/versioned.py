"""Rows that several tabs or devices save over one another (activity drafts, write-ups, case-study
responses): created once, and changed only over the version the writer saw.

Reading a row, comparing its version in Python and writing it back loses an update when two
requests do it at the same moment: both see the same version, both write, both are told "saved".
Here the comparison is part of the write, one `UPDATE ... WHERE id = :id AND version = :base`, which
the database serialises: PostgreSQL makes the second writer wait for the first's row lock and then
checks the WHERE again against the committed row; SQLite lets one writer in at a time (the second
waits, up to the busy timeout, and then sees the first's commit). Exactly one of them changes the
row; the other learns that it did not, and answers with a conflict instead of overwriting.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional, TypeVar

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from .db import db

Row = TypeVar("Row")


def get_or_create(model: type[Row], key: dict[str, Any], defaults: dict[str, Any]) -> Row:
    """The row with these key values (a unique constraint), created with defaults if missing.

    Two first saves at once make one row and neither fails: the second INSERT waits for the first
    to commit and then breaks the unique constraint, so this request rolls back and reads the row
    the other one made. Call it before the request writes anything else (that rollback would undo
    it). A row created here and then rolled back with the rest of the request (a save refused) is
    left as the ORM leaves any new object, with its values, for the answer to show."""
    query = select(model).filter_by(**key)
    row = db().scalar(query)
    if row is not None:
        return row
    row = model(**key, **defaults)
    db().add(row)
    try:
        db().flush()
    except IntegrityError:
        db().rollback()
        row = db().scalar(query)
        if row is None:
            raise  # not the race: some other constraint
    return row


def update_if(row: Any, conditions: Iterable[ColumnElement[bool]], values: dict[str, Any]) -> bool:
    """One `UPDATE <row's table> SET values WHERE id = row.id AND conditions`.

    True if it changed the row: this transaction now holds it, and `row` carries the new values
    (no second SELECT). False if the row no longer met the conditions: `row` is reloaded with what
    another request committed meanwhile, for the caller to answer with. Values must be plain values
    (not SQL expressions): they are copied onto `row` as they are."""
    model = type(row)
    db().flush()  # pending ORM changes go first, so no later flush writes stale values over these
    result = db().execute(update(model).where(model.id == row.id, *conditions).values(**values)
                          .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db().refresh(row)
        return False
    for name, value in values.items():
        set_committed_value(row, name, value)
    return True


def save_over(row: Any, base: Optional[int], values: dict[str, Any], *conditions: ColumnElement[bool]) -> bool:
    """Write values as the version after `base`, only if the row is still at `base` (and meets the
    conditions). A save that names no base is based on the version this request read."""
    base = row.version if base is None else base
    if base != row.version:
        return False  # stale already when read: versions only go up, no need to take the row
    return update_if(row, [type(row).version == base, *conditions], {**values, "version": base + 1})
