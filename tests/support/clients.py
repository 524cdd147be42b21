"""The tests' HTTP clients: Django's and DRF's, checking every response against the OpenAPI document.

Tests build clients only from here (``tests/test_contract.py`` fails on any other), so no API
response escapes the check of ``tests.support.openapi.check_response``.
"""

from __future__ import annotations

from django import test as django_test
from rest_framework import test as drf_test

from tests.support.openapi import check_response


class Client(django_test.Client):
    """Django's test client (pages, forms, the admin); API responses are checked against the document."""

    def request(self, **request):
        response = super().request(**request)
        check_response(response)
        return response


class APIClient(drf_test.APIClient):
    """DRF's test client; every response of a documented path is checked against the document."""

    def request(self, **kwargs):
        response = super().request(**kwargs)
        check_response(response)
        return response
