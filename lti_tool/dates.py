"""The one way dates, times and numbers are written for people (GOV.UK style):
"30 November 2026", "30 November 2026 at 8:14am", "30 November 2026 at 8:14am GMT" where the
zone matters (deadlines, webinars, windows), "1,140". Times are shown in the reader's time zone
(`Person.time_zone`, reported by their browser or their VLE), UTC until it is known.
Machine exports (CSV, JSON) keep ISO 8601 and do not use this module."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Optional, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, g, has_request_context

UTC = ZoneInfo("UTC")


def zone(name: Optional[str]) -> ZoneInfo:
    """A zone by its IANA name; UTC for none or an unknown name."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def current_zone() -> ZoneInfo:
    """The time zone of the person this request is for (UTC outside a launch)."""
    if not has_request_context():
        return UTC
    if "tz" not in g:
        ctx = g.get("ctx")
        g.tz = zone(getattr(ctx, "time_zone", None) if ctx is not None else None)
    return g.tz


def _moment(value: datetime, tz: Optional[ZoneInfo]) -> datetime:
    if value.tzinfo is None:  # the database hands back naive UTC on SQLite
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(tz or current_zone())


def clock(moment: datetime) -> str:
    """"8:14am", "9am", "midday", "midnight"."""
    if moment.minute == 0 and moment.hour in (0, 12):
        return "midnight" if moment.hour == 0 else "midday"
    hour = moment.hour % 12 or 12
    minutes = f":{moment.minute:02d}" if moment.minute else ""
    return f"{hour}{minutes}{'am' if moment.hour < 12 else 'pm'}"


def zone_label(moment: datetime) -> str:
    """"GMT", "BST", "CET", "UTC"; "GMT+4" or "GMT+5:30" where the zone has no letters."""
    name = moment.tzname() or ""
    if name.isalpha():
        return name
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
    return f"GMT{sign}{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")


def format_date(value: Union[datetime, date, None], tz: Optional[ZoneInfo] = None, *,
                weekday: bool = False) -> str:
    """"30 November 2026" (a moment's date in the reader's zone); "" for None."""
    if value is None:
        return ""
    day = _moment(value, tz) if isinstance(value, datetime) else value
    text = f"{day.day} {day:%B %Y}"
    return f"{day:%A} {text}" if weekday else text


def format_time(value: Optional[datetime], tz: Optional[ZoneInfo] = None, *, with_zone: bool = False) -> str:
    """"8:14am" in the reader's zone ("8:14am GMT" with the zone)."""
    if value is None:
        return ""
    moment = _moment(value, tz)
    return f"{clock(moment)} {zone_label(moment)}" if with_zone else clock(moment)


def format_datetime(value: Optional[datetime], tz: Optional[ZoneInfo] = None, *, with_zone: bool = False,
                    weekday: bool = False) -> str:
    """"30 November 2026 at 8:14am" in the reader's zone; with_zone adds "GMT", "BST"..."""
    if value is None:
        return ""
    moment = _moment(value, tz)
    zone_of_moment = moment.tzinfo  # already in the reader's zone: keep it
    return (f"{format_date(moment, zone_of_moment, weekday=weekday)} at "
            f"{format_time(moment, zone_of_moment, with_zone=with_zone)}")


def format_deadline(value: Optional[datetime], tz: Optional[ZoneInfo] = None) -> str:
    """A moment where the zone matters (deadlines, webinars, windows), zone named."""
    return format_datetime(value, tz, with_zone=True)


def is_today(value: Optional[datetime], tz: Optional[ZoneInfo] = None) -> bool:
    """Whether a moment falls on today's date in the reader's zone."""
    if value is None:
        return False
    moment = _moment(value, tz)
    return moment.date() == datetime.now(moment.tzinfo).date()


def format_recent(value: Optional[datetime], tz: Optional[ZoneInfo] = None) -> str:
    """"8:14am" today, else "30 November 2026 at 8:14am" ("Draft saved at ..." / "... on ...")."""
    return format_time(value, tz) if is_today(value, tz) else format_datetime(value, tz)


def format_number(value: Union[int, float, None]) -> str:
    """"1,140"; a whole float without its ".0"."""
    if value is None:
        return ""
    if isinstance(value, str):  # a number written in a pack ("800"), or words ("about 800")
        return format_number(int(value)) if value.strip().isdigit() else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}"


def init_app(app: Flask) -> None:
    app.add_template_filter(format_date, "date")
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(format_deadline, "deadline")
    app.add_template_filter(format_time, "time")
    app.add_template_filter(format_number, "number")
    app.add_template_filter(format_recent, "recent")
    app.add_template_test(is_today, "today")

