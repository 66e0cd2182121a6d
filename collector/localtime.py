"""One rule for time: stored in UTC, shown and named in Vietnam time (Asia/Ho_Chi_Minh, UTC+7).

Every date a person reads (pages, exports, file names, slugs) is the Vietnamese calendar day: a
report at 23:30 UTC on the 1st belongs to the 2nd in Hà Nội, and a file downloaded at 06:00 there
must not carry yesterday's date. Services take ``now`` where a test needs to pin it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def now_utc() -> datetime:
    return datetime.now(UTC)


def local_date(value: datetime | None = None) -> date:
    """The Vietnamese calendar day of ``value`` (an aware datetime; default: now)."""
    moment = value or now_utc()
    if moment.tzinfo is None:
        raise ValueError("naive datetime given where an aware one is needed")
    return moment.astimezone(LOCAL_TZ).date()


def today(now: datetime | None = None) -> date:
    """Today in Vietnam."""
    return local_date(now)


def start_of_day(day: date) -> datetime:
    """00:00 of ``day`` in Vietnam, as an aware datetime."""
    return datetime.combine(day, time(0), LOCAL_TZ)


def end_of_day(day: date) -> datetime:
    """The last second of ``day`` in Vietnam (a date a user gives as "until" includes that whole day)."""
    return start_of_day(day) + timedelta(days=1) - timedelta(seconds=1)


def stamp(value: datetime | date | None = None) -> str:
    """``yyyymmdd`` of the Vietnamese day, for file names and slugs."""
    day = value if isinstance(value, date) and not isinstance(value, datetime) else local_date(value)
    return day.strftime("%Y%m%d")
