"""Column types and helpers shared by every table."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    PostgreSQL keeps the offset (`timestamptz`); SQLite keeps none, so values are
    stored as naive UTC there and made aware again when read.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use fluentio.models.base.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def uuid_pk() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def default_now() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def utc_timestamp(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def string(length: int, **kwargs: Any) -> Any:
    return Field(sa_type=sa.String(length), **kwargs)


def long_text(**kwargs: Any) -> Any:
    return Field(sa_type=sa.Text, **kwargs)


def empty_list() -> list[Any]:
    """A new empty list: the default of a JSON list column.

    A plain function rather than `list`: for every new row pydantic reads the default
    factory's signature, which for a builtin means parsing its text signature (about
    0.1 ms each; a finalised call builds rows with several such fields).
    """
    return []


def empty_dict() -> dict[str, Any]:
    """A new empty dict: the default of a JSON object column (see `empty_list`)."""
    return {}


def json_list() -> Any:
    return Field(default_factory=empty_list, sa_type=sa.JSON, nullable=False)
