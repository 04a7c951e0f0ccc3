"""Dates in transcripts: in text, in filenames, and where a session's date comes from."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, NamedTuple

__all__ = ["FoundDate", "date_from_filename", "find_date", "parse_date", "parse_date_precise", "parse_epoch"]

_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_MONTH_RE = r"(January|February|March|April|May|June|July|August|September|October|November|December|" \
            r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?"
_ISO_RE = re.compile(
    r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
    r"\s*(Z|UTC|[+-]\d{2}:?\d{2})?)?(?!\d)"
)
_MDY_RE = re.compile(_MONTH_RE + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", re.IGNORECASE)
_US_RE = re.compile(  # 8/18/2025, 2:39:23 PM (browser exporters, US locale)
    r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4})(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?(?![\d/])")
_DMY_RE = re.compile(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH_RE + r",?\s+(\d{4})", re.IGNORECASE)


def _tz(text: str | None) -> timezone:
    if not text or text in ("Z", "UTC"):
        return UTC
    sign = 1 if text[0] == "+" else -1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _safe(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, tz: timezone = UTC) -> datetime | None:
    try:
        return datetime(y, mo, d, h, mi, s, tzinfo=tz)
    except ValueError:
        return None


def parse_date_precise(value: Any) -> tuple[datetime | None, bool]:
    """The first date in a value and whether it named only a day (no time of day)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)), False
    if hasattr(value, "year") and hasattr(value, "month") and hasattr(value, "day"):  # a date (YAML)
        return _safe(value.year, value.month, value.day), True
    if not isinstance(value, str):
        return None, False
    found: list[tuple[int, datetime, bool]] = []
    m = _ISO_RE.search(value)
    if m:
        y, mo, d, h, mi, s, tz = m.groups()
        dt = _safe(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), _tz(tz))
        if dt:
            found.append((m.start(), dt, h is None))
    m = _US_RE.search(value)
    if m:
        mo_s, d_s, y_s, h_s, mi_s, s_s, ampm = m.groups()
        hour = int(h_s or 0)
        if ampm and ampm.lower() == "pm" and hour < 12:
            hour += 12
        elif ampm and ampm.lower() == "am" and hour == 12:
            hour = 0
        dt = _safe(int(y_s), int(mo_s), int(d_s), hour, int(mi_s or 0), int(s_s or 0))
        if dt:
            found.append((m.start(), dt, h_s is None))
    m = _MDY_RE.search(value)
    if m:
        dt = _safe(int(m.group(3)), _MONTHS[m.group(1)[:3].lower()], int(m.group(2)))
        if dt:
            found.append((m.start(), dt, True))
    m = _DMY_RE.search(value)
    if m:
        dt = _safe(int(m.group(3)), _MONTHS[m.group(2)[:3].lower()], int(m.group(1)))
        if dt:
            found.append((m.start(), dt, True))
    if not found:
        return None, False
    _, dt, day = min(found, key=lambda x: x[0])
    return dt, day


def parse_date(value: Any) -> datetime | None:
    """The first date (and time, if given) in a value; timezone-aware, UTC when the text names no zone."""
    return parse_date_precise(value)[0]


def parse_epoch(value: Any) -> datetime | None:
    """Seconds (or milliseconds, or nanoseconds) since 1970 as exporters write them; ISO text too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        v = float(value)
        while v > 1e11:  # milliseconds, microseconds, nanoseconds
            v /= 1000
        try:
            return datetime.fromtimestamp(v, tz=UTC) if v > 0 else None
        except (OverflowError, OSError, ValueError):
            return None
    return parse_date(value)


_FILE_DATE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?:[-_T ]?(\d{2})(\d{2})(\d{2})?)?(?!\d)")


def date_from_filename(name: str) -> datetime | None:
    """``2026-01-02-182330-grok.md`` -> 2026-01-02 18:23:30 UTC; ``notes-20260131.md`` -> that day."""
    m = _FILE_DATE.search(name)
    if not m:
        return parse_date(name)
    y, mo, d, h, mi, s = m.groups()
    return _safe(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0)) or parse_date(name)


_ARCHIVED = re.compile(r"^\s*[*_]+\s*Archived\b(.+?)[*_]*\s*$", re.IGNORECASE | re.MULTILINE)


class FoundDate(NamedTuple):
    """A session's date, where it came from, and whether the source named only the day."""

    when: datetime | None
    source: str
    day_only: bool = False

    def meta(self) -> dict[str, Any]:
        """``date_source`` (and ``date`` + ``date_precision: day`` for a date-only source) for session meta."""
        out: dict[str, Any] = {"date_source": self.source}
        if self.when is not None and self.day_only:
            out["date"] = self.when.date().isoformat()
            out["date_precision"] = "day"
        return out


def find_date(front: Mapping[str, Any], head_lines: Sequence[str], body: str, filename: str) -> FoundDate:
    """The session date and where it came from, in order of trust: the document, then the filename.

    Front matter, then the first lines (title, italic subtitle, ``**Date:**``/``**Created:**``
    fields), then a closing ``*Archived …*`` line, then the filename. (The file's mtime, the last
    resort, is the pipeline's.)
    """
    for key in ("date", "created", "created_at", "timestamp", "received"):
        if key in front:
            dt, day = parse_date_precise(front[key])
            if dt:
                return FoundDate(dt, "front_matter", day)
    for line in head_lines:
        dt, day = parse_date_precise(line)
        if dt:
            return FoundDate(dt, "header", day)
    for m in _ARCHIVED.finditer(body):
        dt, day = parse_date_precise(m.group(1))
        if dt:
            return FoundDate(dt, "archived_line", day)
    fm = _FILE_DATE.search(filename)
    if fm:
        dt = date_from_filename(filename)
        if dt:
            return FoundDate(dt, "filename", fm.group(4) is None)
    dt, day = parse_date_precise(filename)
    if dt:
        return FoundDate(dt, "filename", day)
    return FoundDate(None, "unknown")
