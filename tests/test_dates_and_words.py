"""The one date and time style, numbers, shortened text and word counts (lti_tool/dates.py,
lti_tool/wording.py, writeups.service.word_count): unit tests, and the Jinja filters rendered in the
person's zone."""
from __future__ import annotations

from datetime import date, datetime, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from flask import g, render_template_string

from lti_tool import dates, wording
from lti_tool.content import catalogue
from lti_tool.writeups import service

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")


def at(*parts):
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize("moment, zone, text", [
    (at(2026, 11, 30, 8, 14), LONDON, "30 November 2026 at 8:14am"),
    (at(2026, 11, 30, 17, 0), LONDON, "30 November 2026 at 5pm"),
    (at(2026, 11, 30, 12, 0), LONDON, "30 November 2026 at midday"),
    (at(2026, 11, 30, 0, 0), LONDON, "30 November 2026 at midnight"),
    (at(2027, 1, 5, 9, 5), LONDON, "5 January 2027 at 9:05am"),  # no leading zero on the day
    (at(2026, 7, 1, 17, 30), LONDON, "1 July 2026 at 6:30pm"),  # summer time
    (at(2026, 11, 30, 23, 30), ZoneInfo("Asia/Dubai"), "1 December 2026 at 3:30am"),  # the local date
])
def test_datetime_in_the_readers_zone(moment, zone, text):
    assert dates.format_datetime(moment, zone) == text


@pytest.mark.parametrize("moment, zone, text", [
    (at(2026, 11, 30, 8, 14), LONDON, "30 November 2026 at 8:14am GMT"),
    (at(2026, 7, 1, 8, 14), LONDON, "1 July 2026 at 9:14am BST"),
    (at(2027, 3, 10, 18, 0), ZoneInfo("Asia/Dubai"), "10 March 2027 at 10pm GMT+4"),
    (at(2027, 3, 10, 18, 0), ZoneInfo("Asia/Kabul"), "10 March 2027 at 10:30pm GMT+4:30"),
    (at(2027, 3, 10, 18, 0), ZoneInfo("America/New_York"), "10 March 2027 at 1pm EST"),
    (at(2027, 3, 10, 18, 0), dates.UTC, "10 March 2027 at 6pm UTC"),
])
def test_deadlines_name_the_zone(moment, zone, text):
    assert dates.format_deadline(moment, zone) == text


def test_clocks_going_forward_and_back_in_london():
    # 28 March 2027: 1am GMT becomes 2am BST; 31 October 2027: 2am BST becomes 1am GMT.
    assert dates.format_deadline(at(2027, 3, 28, 0, 59), LONDON) == "28 March 2027 at 12:59am GMT"
    assert dates.format_deadline(at(2027, 3, 28, 1, 0), LONDON) == "28 March 2027 at 2am BST"
    assert dates.format_deadline(at(2027, 10, 31, 0, 30), LONDON) == "31 October 2027 at 1:30am BST"
    assert dates.format_deadline(at(2027, 10, 31, 1, 30), LONDON) == "31 October 2027 at 1:30am GMT"


def test_dates_times_none_naive_and_weekday():
    assert dates.format_date(None) == dates.format_datetime(None) == dates.format_time(None) == ""
    assert dates.format_deadline(None) == ""
    assert dates.format_date(date(2027, 1, 5)) == "5 January 2027"
    assert dates.format_date(date(2027, 1, 5), weekday=True) == "Tuesday 5 January 2027"
    # SQLite hands back naive UTC: read as UTC, shown in the zone asked for.
    assert dates.format_datetime(datetime(2026, 7, 1, 8, 0), LONDON) == "1 July 2026 at 9am"
    assert dates.format_time(at(2026, 7, 1, 8, 0), LONDON, with_zone=True) == "9am BST"
    assert dates.format_datetime(at(2027, 3, 10, 18, 0), LONDON, with_zone=True, weekday=True) == \
        "Wednesday 10 March 2027 at 6pm GMT"


def test_an_unknown_zone_is_utc():
    assert dates.zone("Mars/Olympus") is dates.UTC and dates.zone(None) is dates.UTC
    assert dates.zone("Europe/London") == LONDON


def test_numbers():
    assert dates.format_number(1140) == "1,140"
    assert dates.format_number(5.0) == "5"
    assert dates.format_number(2.5) == "2.5"
    assert dates.format_number(None) == ""
    assert dates.format_number("2000") == "2,000" and dates.format_number("about 800") == "about 800"


@pytest.mark.parametrize("text, limit, out", [
    ("Staff turnover in August means new teachers miss the training.", 30, "Staff turnover in August…"),
    ("Short enough", 30, "Short enough"),
    ("Supercalifragilisticexpialidocious words", 10, "Supercali…"),  # one long word: cut inside it
    ("  spaced   out\ntext  ", 80, "spaced out text"),
    (None, 10, ""),
])
def test_shorten_at_a_whole_word_with_an_ellipsis(text, limit, out):
    got = wording.shorten(text, limit)
    assert got == out and len(got) <= limit


def test_gradebook_and_delivery_states_in_words():
    assert wording.grading_progress("FullyGraded") == "marked"
    assert wording.grading_progress("PendingManual") == "waiting for marking"
    assert wording.delivery_status("delivered") == "sent to the gradebook"
    assert wording.declaration_label("retained-1") == "Retention point 1"


def test_filters_use_the_persons_zone(app):
    page = ("{{ when|datetime }} | {{ when|deadline }} | {{ when|date }} | {{ when|time }} | "
            "{{ 1140|number }} | {{ 'FullyGraded'|grading_progress }}")
    with app.test_request_context("/"):
        g.ctx = SimpleNamespace(time_zone="Europe/London")
        assert render_template_string(page, when=at(2026, 7, 1, 7, 5)) == (
            "1 July 2026 at 8:05am | 1 July 2026 at 8:05am BST | 1 July 2026 | 8:05am | 1,140 | marked")
    with app.test_request_context("/"):  # no launch: UTC, and the zone says so
        assert render_template_string("{{ when|deadline }}", when=at(2026, 7, 1, 7, 5)) == \
            "1 July 2026 at 7:05am UTC"


def _template(ref):
    code, template_id = ref.split("/")
    return catalogue()[code].templates[template_id]


def test_word_count_covers_every_text_field_and_table_cell(app):
    with app.app_context():
        risk = _template("NPQSL/risk-assessment")
        content = service.blank_content(risk)
        content["overview"].update({"project-title": "Reading fluency in Year 7",  # 5
                                    "description": "A daily fluency routine."})  # 4
        content["risks"][0].update({"description": "Staff turnover in August.",  # 4
                                    "likelihood": "4", "impact": "5",  # scores: not words
                                    "mitigation": "Record the training.",  # 3
                                    "owner": "Deputy head", "review-date": "2027-01-15"})  # 2, a date: not words
        assert service.word_count(risk, content) == 18

        plan = _template("NPQSL/action-plan")
        content = service.blank_content(plan)
        content["plan"]["aim"] = "Improve reading fluency"
        content["actions"][0].update({"action": "Train tutors", "statements": ["NPQSL/school-culture/that-7"]})
        assert service.word_count(plan, content) == 5  # statements are not words

        essay = _template("NPQSL/impact-essay")
        content = service.blank_content(essay)
        first = essay.sections[0].id
        content[first] = "One two three."
        assert service.word_count(essay, content) == 3


def test_versions_are_numbered_as_the_person_sees_them():
    rows = [SimpleNamespace(version=v) for v in (9, 1, 4)]
    assert service.version_numbers(rows) == {1: 1, 4: 2, 9: 3}
    assert service.version_numbers([]) == {}
