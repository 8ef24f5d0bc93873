"""Schemathesis hooks for `./run.sh test:api` (loaded through SCHEMATHESIS_HOOKS).

A `time_range` has two rules that no JSON Schema can state: its end must be
after its start, and an `/aggregates` range may be at most
AGGREGATES_MAX_MINUTES long. The documents state them in words and declare
the 400 that breaks them; schemathesis draws both ends independently from the
pattern, so about half its schema-valid ranges would be reversed and nearly
every aggregates range years long, and `positive_data_acceptance` would report
each 400 as a valid request refused.

So before each call, a range whose two ends are both well-formed instants is
put in order (ends swapped; equal ends pulled one unit apart) and, for
`/aggregates`, cut to at most the served length by moving its end. Nothing
else is touched: a malformed range, a range of impossible dates, one whose
aggregates ends are not on whole minutes, and every other parameter reach the
server as drawn, and every check stays on. The counts of ranges seen and
changed are written to SCHEMATHESIS_RANGE_STATS (JSON) at exit.
"""

import atexit
import json
import os
import re

import schemathesis

MS_PER_MINUTE = 60_000
MS_PER_DAY = 86_400_000
MAX_AGGREGATE_MINUTES = int(os.environ.get("AGGREGATES_MAX_MINUTES", "1440"))
# 0000-01-01T00:00:00.000 and 9999-12-31T23:59:59.999 relative to 1970, the instants a four-digit year can write.
_END = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,3}))?Z?", re.ASCII
)

_stats = {"seen": 0, "reordered": 0, "shortened": 0}


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (any year, 0 included)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719_468
    era = days // 146_097
    day_of_era = days - era * 146_097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    mp = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return year_of_era + era * 400 + (month <= 2), month, day


MIN_MS = _days_from_civil(0, 1, 1) * MS_PER_DAY
MAX_MS = _days_from_civil(10_000, 1, 1) * MS_PER_DAY - 1


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _parse(text: str) -> int | None:
    """Epoch milliseconds of a well-formed range end (a date that exists), else None."""
    match = _END.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction = match.group(7) or ""
    if not 1 <= month <= 12 or hour > 23 or minute > 59 or second > 59:
        return None
    days_in_month = [31, 29 if _is_leap(year) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    if not 1 <= day <= days_in_month:
        return None
    millis = int(fraction.ljust(3, "0")) if fraction else 0
    return _days_from_civil(year, month, day) * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + millis


def _format(ms: int, minutes_only: bool) -> str:
    days, rest = divmod(ms, MS_PER_DAY)
    year, month, day = _civil_from_days(days)
    hour, rest = divmod(rest, 3_600_000)
    minute, rest = divmod(rest, MS_PER_MINUTE)
    second, millis = divmod(rest, 1000)
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    return text if minutes_only else f"{text}.{millis:03d}"


def ordered_range(text: str, minutes_only: bool, max_minutes: int | None) -> str:
    """The range with its ends in order and (for aggregates) at most `max_minutes` long; other text unchanged."""
    ends = text.split("_")
    if len(ends) != 2:
        return text
    start_text, end_text = ends
    start, end = _parse(start_text), _parse(end_text)
    if start is None or end is None:
        return text
    unit = MS_PER_MINUTE if minutes_only else 1
    if minutes_only and (start % MS_PER_MINUTE or end % MS_PER_MINUTE):
        return text
    _stats["seen"] += 1
    if start > end:
        start, end, start_text, end_text = end, start, end_text, start_text
        _stats["reordered"] += 1
    span = end - start
    wanted = span
    if span == 0:
        wanted = unit
        _stats["reordered"] += 1
    elif max_minutes is not None and span > max_minutes * MS_PER_MINUTE:
        wanted = ((span // MS_PER_MINUTE - 1) % max_minutes + 1) * MS_PER_MINUTE
        _stats["shortened"] += 1
    if wanted != span:
        if start + wanted <= MAX_MS:
            end_text = _format(start + wanted, minutes_only)
        else:
            start_text = _format(end - wanted, minutes_only)
    return f"{start_text}_{end_text}"


@schemathesis.hook
def before_call(context, case, kwargs):
    query = case.query
    if not isinstance(query, dict) or not isinstance(query.get("time_range"), str):
        return
    if case.operation.path == "/aggregates":
        query["time_range"] = ordered_range(query["time_range"], True, MAX_AGGREGATE_MINUTES)
    elif case.operation.path.startswith("/user_profiles/"):
        query["time_range"] = ordered_range(query["time_range"], False, None)


def _write_stats() -> None:
    path = os.environ.get("SCHEMATHESIS_RANGE_STATS")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(_stats, out)


atexit.register(_write_stats)
