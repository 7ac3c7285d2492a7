"""Column types that keep kaoping's numbers and times exact on every database."""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from decimal import Decimal

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.types import TypeDecorator


class ExactDecimal(TypeDecorator):
    """``decimal.Decimal`` stored exactly.

    PostgreSQL gets ``NUMERIC(14, 4)`` (so SQL aggregates work there); SQLite, which has no
    decimal type and would round-trip through binary floats, gets the canonical string.
    Scores have at most 4 decimal places (0.625-point items, 2-place published scores).
    """

    impl = String(32)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(14, 4, asdecimal=True))
        return dialect.type_descriptor(String(32))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        if dialect.name == "postgresql":
            return value
        return format(value.normalize(), "f")

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # SQLite: stored canonical already
            return Decimal(value)
        return canonical_decimal(value)


def canonical_decimal(value: Decimal) -> Decimal:
    """3.0000 → 3, 0.5000 → 0.5, 30 → 30 (never 3E+1): the value as a person writes it."""
    value = value.normalize()
    if value.as_tuple().exponent > 0:  # 3E+1
        return value.quantize(Decimal(1))
    return value


class UTCDateTime(TypeDecorator):
    """Aware datetimes, stored as UTC (SQLite forgets offsets, so we normalise on the way in)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_fixed_now: datetime | None = None


#: The demo's simulated clock (`make demo`): a file naming the simulated instant and the real one it was set at;
#: every process of the demo (its Prefect worker's flow runs included) reads it, so all it prints and stamps is
#: dated on the simulated day. Honoured only with ``KAOPING_ENVIRONMENT=development``: production reads the real time.
CLOCK_FILE = "KAOPING_CLOCK_FILE"
_simulated: tuple[int, datetime, datetime] | None = None  # (the file's mtime_ns, simulated instant, real instant)


def _simulated_now(now: datetime) -> datetime | None:
    global _simulated
    path = os.environ.get(CLOCK_FILE)
    if not path or os.environ.get("KAOPING_ENVIRONMENT", "").lower() != "development":
        return None
    try:
        stamp = os.stat(path).st_mtime_ns
        if _simulated is None or _simulated[0] != stamp:
            simulated, real = Path(path).read_text(encoding="utf-8").split()
            _simulated = (stamp, datetime.fromisoformat(simulated), datetime.fromisoformat(real))
    except (OSError, ValueError):
        return None
    return _simulated[1] + (now - _simulated[2])  # the simulated time runs on from where it was set


def set_simulated_clock(path: Path, instant: datetime) -> None:
    """Set the demo's clock (the file ``KAOPING_CLOCK_FILE`` names) to ``instant`` (aware), from now on."""
    if instant.tzinfo is None:
        raise ValueError("set_simulated_clock needs an aware datetime")
    temporary = Path(path).with_suffix(".tmp")
    temporary.write_text(f"{instant.astimezone(UTC).isoformat()} {datetime.now(UTC).isoformat()}\n", encoding="utf-8")
    os.replace(temporary, path)


def utcnow() -> datetime:
    """Now, in UTC: the one clock kaoping reads (``fixed_clock`` sets it for tests and golden samples, the demo
    its simulated days through ``KAOPING_CLOCK_FILE``)."""
    if _fixed_now is not None:
        return _fixed_now
    now = datetime.now(UTC)
    return _simulated_now(now) or now


@contextmanager
def fixed_clock(instant: datetime):
    """Within the block, ``utcnow()`` is ``instant`` (aware)."""
    global _fixed_now
    if instant.tzinfo is None:
        raise ValueError("fixed_clock needs an aware datetime")
    previous, _fixed_now = _fixed_now, instant.astimezone(UTC)
    try:
        yield
    finally:
        _fixed_now = previous
