"""The shared readers of numbers and true/false words (``config.values``) and the query parameters built on them."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from config.filters import truth_param
from config.values import parse_number, parse_truth
from tests.workflows.factories import WorkflowFactory


# -- numbers ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    (12, 12), (-3, -3), (2.5, 2.5), (2.0, 2.0),
    ("12", 12), (" 7 ", 7), ("-4", -4), ("1e3", 1000), ("1.5", 1.5), ("2.0", 2.0), ("1e-3", 0.001),
    ("123456789012345678901234567890", 123456789012345678901234567890),
])
def test_it_reads_a_number_keeping_the_kind_it_is_written_in(value, expected):
    number = parse_number(value)
    assert number == expected
    assert type(number) is type(expected)


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400",
                                   float("nan"), float("inf"), float("-inf")])
def test_it_refuses_numbers_json_cannot_hold(value):
    with pytest.raises(ValueError, match=r"^Must be a finite number\.$"):
        parse_number(value)


@pytest.mark.parametrize("value, message", [
    ("many", "Must be a number, not 'many'."),
    ("", "Must be a number, not ''."),
    ("1,5", "Must be a number, not '1,5'."),
    (True, "Must be a number, not a boolean."),
    (False, "Must be a number, not a boolean."),
    (None, "Must be a number, not null."),
    ([1], "Must be a number, not a list."),
    ({"n": 1}, "Must be a number, not an object."),
])
def test_it_says_why_a_value_is_not_a_number(value, message):
    with pytest.raises(ValueError) as caught:
        parse_number(value)
    assert str(caught.value) == message


@pytest.mark.parametrize("value, expected", [(3, 3), (3.0, 3), ("3", 3), ("3.0", 3), ("1e2", 100)])
def test_it_reads_a_whole_number_as_an_int(value, expected):
    number = parse_number(value, integer=True)
    assert number == expected and type(number) is int


@pytest.mark.parametrize("value", [2.5, "2.5", "1e-1"])
def test_it_refuses_a_fraction_where_a_whole_number_is_wanted(value):
    with pytest.raises(ValueError, match="^Must be a whole number, not "):
        parse_number(value, integer=True)


def test_it_keeps_a_number_within_inclusive_bounds():
    assert parse_number("1", minimum=1, maximum=5) == 1
    assert parse_number("5", minimum=1, maximum=5) == 5
    with pytest.raises(ValueError) as low:
        parse_number("0", minimum=1)
    with pytest.raises(ValueError) as high:
        parse_number(6.5, maximum=5)
    assert (str(low.value), str(high.value)) == ("Must be at least 1, not 0.", "Must be at most 5, not 6.5.")


# -- true/false words ------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [True, 1, "true", "TRUE", " True ", "yes", "Yes", "on", "ON", "1"])
def test_it_reads_the_words_for_true(value):
    assert parse_truth(value) is True


@pytest.mark.parametrize("value", [False, 0, "false", "False", "no", "NO", "off", " off", "0"])
def test_it_reads_the_words_for_false(value):
    assert parse_truth(value) is False


@pytest.mark.parametrize("value", ["maybe", "", "t", "y", "2", "truee", 2, -1, 1.0, 0.0, None, [], {}, ["true"]])
def test_it_answers_none_for_anything_else(value):
    assert parse_truth(value) is None


def test_it_accepts_only_the_words_a_surface_names():
    words = ("true", "false")
    assert (parse_truth("TRUE", words=words), parse_truth("false", words=words)) == (True, False)
    assert [parse_truth(word, words=words) for word in ("yes", "no", "on", "off", "1", "0")] == [None] * 6


def test_a_query_parameter_takes_the_same_words_and_refuses_others():
    params = QueryDict("a=Yes&b=0&c=&d=maybe")
    assert (truth_param(params, "a"), truth_param(params, "b")) == (True, False)
    assert (truth_param(params, "c"), truth_param(params, "missing")) == (None, None)
    with pytest.raises(ValidationError) as caught:
        truth_param(params, "d")
    assert caught.value.detail == {"d": ["Use true or false."]}


# -- API booleans -------------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("word, expected", [("off", False), ("No", False), ("0", False), (False, False),
                                            ("on", True), ("YES", True), (1, True), (True, True)])
def test_every_api_boolean_reads_the_same_words(admin_api, project_a, word, expected):
    """A workflow's, a schedule's and a webhook's ``enabled`` are read by parse_truth like the rest."""
    workflow = WorkflowFactory(project=project_a, name="words")
    response = admin_api.patch(f"/api/v1/workflows/{workflow.id}/", {"enabled": word}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["enabled"] is expected
    schedule = admin_api.post("/api/v1/schedules/", {"workflow": str(workflow.id), "name": "words", "cron": "0 * * * *",
                                                      "enabled": word}, format="json")
    assert schedule.status_code == 201, schedule.json()
    assert schedule.json()["enabled"] is expected


@pytest.mark.django_db
@pytest.mark.parametrize("word", ["t", "y", "f", "n", "maybe", 2, 0.0])
def test_an_api_boolean_refuses_what_parse_truth_does_not_read(admin_api, project_a, word):
    workflow = WorkflowFactory(project=project_a, name="words")
    response = admin_api.patch(f"/api/v1/workflows/{workflow.id}/", {"enabled": word}, format="json")
    assert response.status_code == 400
    assert "Must be true or false" in str(response.json())
