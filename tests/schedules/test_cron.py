"""Due times in a time zone: a daylight-saving change neither skips nor doubles a run."""

from datetime import UTC, datetime, timedelta

import pytest

from schedules.cron import Cron, CronError


def due_times(expression: str, zone: str, start: datetime, count: int) -> list[datetime]:
    cron, moment, found = Cron(expression, zone), start, []
    for _ in range(count):
        moment = cron.next_after(moment)
        found.append(moment)
    return found


def local(moments, zone="Europe/Berlin") -> list[str]:
    cron = Cron("* * * * *", zone)
    return [m.astimezone(cron.zone).strftime("%m-%d %H:%M %Z") for m in moments]


def test_a_daily_run_in_the_skipped_hour_runs_once_when_the_clocks_jump():
    runs = due_times("30 2 * * *", "Europe/Berlin", datetime(2030, 3, 29, tzinfo=UTC), 4)
    assert local(runs) == ["03-29 02:30 CET", "03-30 02:30 CET", "03-31 03:00 CEST", "04-01 02:30 CEST"]


def test_a_daily_run_in_the_repeated_hour_runs_once():
    runs = due_times("30 2 * * *", "Europe/Berlin", datetime(2030, 10, 25, tzinfo=UTC), 4)
    assert local(runs) == ["10-25 02:30 CEST", "10-26 02:30 CEST", "10-27 02:30 CEST", "10-28 02:30 CET"]


@pytest.mark.parametrize("start", [datetime(2030, 3, 30, 22, 10, tzinfo=UTC), datetime(2030, 10, 26, 22, 10, tzinfo=UTC)])
def test_an_every_half_hour_schedule_runs_every_real_half_hour_across_both_changes(start):
    runs = due_times("*/30 * * * *", "Europe/Berlin", start, 12)
    assert {b - a for a, b in zip(runs, runs[1:], strict=False)} == {timedelta(minutes=30)}


def test_two_wall_times_that_meet_at_the_jump_run_once():
    runs = due_times("0 2,3 * * *", "Europe/Berlin", datetime(2030, 3, 30, 12, tzinfo=UTC), 3)
    assert local(runs) == ["03-31 03:00 CEST", "04-01 02:00 CEST", "04-01 03:00 CEST"]


def test_the_latest_due_time_before_a_moment():
    cron = Cron("*/5 * * * *", "UTC")
    assert cron.latest_before(datetime(2030, 1, 1, 10, 7, tzinfo=UTC)) == datetime(2030, 1, 1, 10, 5, tzinfo=UTC)
    assert cron.latest_before(datetime(2030, 1, 1, 10, 5, tzinfo=UTC)) == datetime(2030, 1, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("expression", "zone", "words"), [
    ("* * * *", "UTC", "five fields"),
    ("* * * * * *", "UTC", "five fields"),
    ("61 * * * *", "UTC", "not a valid"),
    ("@reboot", "UTC", "five fields"),
    ("* * * * *", "Mars/Olympus", "Unknown time zone"),
])
def test_it_refuses_what_cannot_make_a_schedule(expression, zone, words):
    with pytest.raises(CronError, match=words):
        Cron(expression, zone)


def test_it_says_when_an_expression_never_comes_due():
    with pytest.raises(CronError, match="never comes due"):
        Cron("0 0 30 2 *", "UTC").next_after(datetime(2030, 1, 1, tzinfo=UTC))
