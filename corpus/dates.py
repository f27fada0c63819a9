"""Dates, checked where they are read: every reader and the CLI go through here.

    iso_date("2024-02-29")              # "2024-02-29"
    iso_date("2024-02-30")              # DateError: 2024-02-30 is not a day of the calendar …
    iso_date("Wed Nov 13 21:12:00 +0000 2025")       # "2025-11-13T21:12:00Z"
    bound("2025", "until")              # "2025-12-31"

Stored dates are ISO 8601 strings: a day ("2024-02-29") or a UTC time ("2024-02-29T10:00:00Z").
A date must be a real day of a year between FIRST_YEAR and LAST_YEAR: nothing he wrote is
older than the web, and a year 9999 is a typo, not a plan. `DateError` is a ValueError whose
message says what was wrong and how to write it.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from corpus.errors import KtpError

FIRST_YEAR, LAST_YEAR = 1990, 2100
UNDATED = ("", "undated", "unknown", "none", "null", "n/a")
_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DAY_TIME = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?"
                       r"(?:\.\d{1,9})?)?\s*(Z|[+-]\d{2}:?\d{2}|UTC)?")
_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
# The X archive's own format, "Wed Nov 13 21:12:00 +0000 2025", read millions of times.
_X_DATE = re.compile(r"[A-Za-z]{3} ([A-Za-z]{3}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) "
                     r"([+-]\d{4}) (\d{4})")
_BOUND = re.compile(r"(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?")


class DateError(KtpError, ValueError):
    """A value that should be a date and is not; the message says how to write it."""


def is_undated(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in UNDATED)


def iso_date(value: Any) -> str | None:
    """A day or a time, as stored: "YYYY-MM-DD", or "YYYY-MM-DDTHH:MM:SSZ" when the value has a
    time of day. None for an empty or "undated" value; DateError for anything else."""
    if is_undated(value):
        return None
    if isinstance(value, dt.datetime):
        return _utc(value)
    if isinstance(value, dt.date):
        return _checked(value.year, value.month, value.day, value).isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return epoch(value)
    text = str(value).strip()
    if text.isdigit() and len(text) == 8:  # yt-dlp's upload_date, 20240229
        return _checked(int(text[:4]), int(text[4:6]), int(text[6:]), text).isoformat()
    if text.isdigit() and len(text) >= 9:
        return epoch(text)
    if m := _X_DATE.fullmatch(text):
        month = _MONTHS.get(m.group(1).lower())
        if month is None:
            raise DateError(f"date {text!r} names no month I know")
        day = _checked(int(m.group(7)), month, int(m.group(2)), text)
        if m.group(6) == "+0000":  # the usual case: no time zone arithmetic
            h, mi, sec = _hms(m.group(3, 4, 5), text)
            return f"{day.isoformat()}T{h:02d}:{mi:02d}:{sec:02d}Z"
        return _utc(dt.datetime(day.year, day.month, day.day, *_hms(m.group(3, 4, 5), text),
                                tzinfo=_zone(m.group(6), text)))
    m = _DAY_TIME.fullmatch(text)
    if not m:
        raise DateError(f"{text!r} is not a date; write it as YYYY-MM-DD "
                        "(or YYYY-MM-DDTHH:MM:SSZ)")
    day = _checked(int(m.group(1)), int(m.group(2)), int(m.group(3)), text)
    if m.group(4) is None:
        return day.isoformat()
    hms = _hms((m.group(4), m.group(5), m.group(6) or "0"), text)
    zone = _zone(m.group(7), text) if m.group(7) else dt.timezone.utc  # naive times are UTC
    return _utc(dt.datetime(day.year, day.month, day.day, *hms, tzinfo=zone))


def epoch(value: Any) -> str:
    """Seconds (or milliseconds) since 1970 to a UTC time; out of range is a DateError."""
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        raise DateError(f"{value!r} is not a number of seconds since 1970") from None
    if not math.isfinite(seconds):
        raise DateError(f"{value!r} is not a number of seconds since 1970")
    if seconds > 1e11:
        seconds /= 1000  # milliseconds
    try:
        moment = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        moment = None
    if moment is None or not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise DateError(f"timestamp {value!r} is not a time between {FIRST_YEAR} and "
                        f"{LAST_YEAR}")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def bound(value: str | None, which: str) -> str | None:
    """A --since/--until value: "2024" is 2024-01-01 as a lower bound and 2024-12-31 as an
    upper one; "2024-02" the first or last day of February 2024; a full day is itself."""
    if value is None:
        return None
    text = value.strip()
    m = _BOUND.fullmatch(text)
    if not m:
        raise DateError(f"{value!r} is not a date; use YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    low = which == "since"
    if month is None:
        month = 1 if low else 12
    if not 1 <= int(month) <= 12:
        raise DateError(f"{value!r}: there is no month {int(month)}")
    month = int(month)
    if day is None:
        day = 1 if low else _last_day(year, month)
    return _checked(year, month, int(day), value).isoformat()


def check_range(since: str | None, until: str | None) -> None:
    """--since after --until selects nothing: say so instead of answering with nothing."""
    if since and until and since[:10] > until[:10]:
        raise DateError(f"--since {since[:10]} is after --until {until[:10]}; nothing could "
                        "match (swap them?)")


def _checked(year: int, month: int, day: int, shown: Any) -> dt.date:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise DateError(f"{shown!r}: the year {year} is outside {FIRST_YEAR}–{LAST_YEAR}; "
                        "is it a typo?")
    if not 1 <= month <= 12:
        raise DateError(f"{shown!r}: there is no month {month}")
    if not 1 <= day <= _last_day(year, month):
        raise DateError(f"{shown!r}: {year}-{month:02d} has no day {day} "
                        f"(it has {_last_day(year, month)})")
    return dt.date(year, month, day)


def _last_day(year: int, month: int) -> int:
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).day


def _hms(parts, shown) -> tuple[int, int, int]:
    h, m, s = (int(p) for p in parts)
    if h > 23 or m > 59 or s > 60:
        raise DateError(f"{shown!r}: {h:02d}:{m:02d}:{s:02d} is not a time of day")
    return h, m, min(s, 59)


def _zone(text: str, shown) -> dt.timezone:
    if text in ("Z", "UTC"):
        return dt.timezone.utc
    digits = text.replace(":", "")
    hours, minutes = int(digits[1:3]), int(digits[3:5])
    if hours > 14 or minutes > 59:
        raise DateError(f"{shown!r}: {text} is not a time zone offset")
    offset = dt.timedelta(hours=hours, minutes=minutes)
    return dt.timezone(-offset if digits[0] == "-" else offset)


def _utc(moment: dt.datetime) -> str:
    if moment.tzinfo:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    _checked(moment.year, moment.month, moment.day, moment.isoformat())
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
