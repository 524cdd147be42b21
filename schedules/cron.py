"""Cron due times in a time zone, read so that a daylight-saving change neither skips nor doubles a run.

Expressions are evaluated on the wall clock of the schedule's time zone (croniter on naive local
times), and each wall-clock time becomes an instant by these rules:

* a time that does not exist (the hour the clocks skip in spring) runs at the moment of the jump:
  ``30 2 * * *`` in Europe/Berlin runs at 03:00 local time that day, once;
* a time that exists twice (the hour repeated in autumn) runs at its first occurrence only,
  unless the expression runs every hour (``*/15 * * * *``): then both passes of the hour run,
  as every real hour does;
* two wall-clock times that become the same instant run once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

# The largest daylight-saving jump in the time zone database is two hours (Antarctica/Troll).
DST_WINDOW = timedelta(hours=2, minutes=1)
# Walls read per search; a valid expression finds its next time long before (every minute: ~250).
MAX_STEPS = 5000
ONE_MICROSECOND = timedelta(microseconds=1)


class CronError(ValueError):
    """An expression or time zone that cannot make a schedule; the message says how to fix it."""


def check_time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise CronError(f"Unknown time zone {name!r}; use an IANA name such as 'UTC' or 'Europe/Berlin'.") from None


def check_expression(expression: str) -> str:
    """The expression, trimmed; five fields (minute hour day-of-month month day-of-week) or an @alias."""
    text = " ".join(str(expression).split())
    fields = text.split(" ")
    if text == "@reboot" or not (len(fields) == 5 or (len(fields) == 1 and text.startswith("@"))):
        raise CronError(f"{expression!r} is not a cron expression of five fields (minute hour day month weekday), "
                        "for example '*/5 * * * *', or @hourly, @daily, @weekly, @monthly, @yearly.")
    if not croniter.is_valid(text):
        raise CronError(f"{expression!r} is not a valid cron expression; check each field's range and syntax.")
    return text


class Cron:
    """A checked expression in a time zone, answering its due instants (aware, UTC)."""

    def __init__(self, expression: str, time_zone: str) -> None:
        self.expression = check_expression(expression)
        self.zone = check_time_zone(time_zone)
        hours = croniter(self.expression, datetime(2000, 1, 1)).expanded[1]
        self.every_hour = hours == ["*"] or len(hours) == 24

    def next_after(self, moment: datetime) -> datetime:
        """The first due instant strictly after ``moment``."""
        return self._search(moment, forward=True)

    def latest_before(self, moment: datetime) -> datetime:
        """The last due instant strictly before ``moment``."""
        return self._search(moment, forward=False)

    def between(self, start: datetime, end: datetime, limit: int) -> list[datetime]:
        """Due instants in ``[start, end]``, oldest first, at most ``limit``."""
        found: list[datetime] = []
        moment = start - ONE_MICROSECOND
        while len(found) < limit:
            moment = self.next_after(moment)
            if moment > end:
                break
            found.append(moment)
        return found

    def _search(self, moment: datetime, *, forward: bool) -> datetime:
        local = moment.astimezone(self.zone).replace(tzinfo=None)
        # Only near a clock change can a wall time before ``local`` be due after ``moment`` (or the
        # reverse): elsewhere the search starts at ``local`` and stops at the first hit.
        margin = DST_WINDOW if self._near_change(moment) else timedelta(0)
        walls = croniter(self.expression, local - margin if forward else local + margin)
        best: datetime | None = None
        best_wall: datetime | None = None
        for _ in range(MAX_STEPS):
            try:
                wall = walls.get_next(datetime) if forward else walls.get_prev(datetime)
            except Exception as exc:  # croniter gives up on dates that never come (February 30th)
                raise CronError(f"{self.expression!r} never comes due.") from exc
            if best_wall is not None and abs(wall - best_wall) > DST_WINDOW:
                return best
            for instant in self._instants(wall):
                if (instant > moment if forward else instant < moment) and (
                        best is None or (instant < best if forward else instant > best)):
                    best, best_wall = instant, wall
            if best is not None and not self._near_change(best):
                return best
        if best is None:
            raise CronError(f"{self.expression!r} never comes due.")
        return best

    def _near_change(self, instant: datetime) -> bool:
        """Whether the zone's offset changes within DST_WINDOW of ``instant``."""
        return (instant - DST_WINDOW).astimezone(self.zone).utcoffset() != (
            instant + DST_WINDOW).astimezone(self.zone).utcoffset()

    def _instants(self, wall: datetime) -> list[datetime]:
        """The instants (UTC) at which the local wall-clock time ``wall`` runs."""
        first = wall.replace(tzinfo=self.zone, fold=0).astimezone(UTC)
        second = wall.replace(tzinfo=self.zone, fold=1).astimezone(UTC)
        if first == second:
            return [first]
        if first < second:  # the repeated hour: the first pass, or both for an hourly expression
            return [first, second] if self.every_hour else [first]
        return [self._jump(second, first)]  # a skipped time: the moment the clocks jump

    def _jump(self, low: datetime, high: datetime) -> datetime:
        """The instant in ``(low, high]`` at which the zone's offset changes (to the second)."""
        offset = low.astimezone(self.zone).utcoffset()
        while high - low > timedelta(seconds=1):
            middle = low + (high - low) / 2
            if middle.astimezone(self.zone).utcoffset() == offset:
                low = middle
            else:
                high = middle
        return high.replace(microsecond=0)
