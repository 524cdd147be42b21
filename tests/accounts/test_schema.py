"""The OpenAPI schema describes the accounts endpoints and all four credential kinds."""

from __future__ import annotations

import pytest
from django.urls import include, path

from tests.support.openapi import generate_document


@pytest.fixture
def accounts_schema():
    return generate_document([path("api/v1/", include("accounts.api.urls"))])


def test_it_describes_the_accounts_endpoints_without_warnings(accounts_schema):
    schema, warnings = accounts_schema
    assert warnings == {}
    assert {"/api/v1/me", "/api/v1/projects/", "/api/v1/projects/{id}/"} <= set(schema["paths"])
    me = schema["paths"]["/api/v1/me"]["get"]
    assert me["responses"]["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_it_names_the_four_security_schemes(accounts_schema):
    schema, _ = accounts_schema
    schemes = schema["components"]["securitySchemes"]
    assert schemes["BearerAuth"] == {**schemes["BearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["ApiKeyAuth"] == {**schemes["ApiKeyAuth"], "type": "apiKey", "in": "header", "name": "x-api-key"}
    assert schemes["BasicAuth"] == {**schemes["BasicAuth"], "type": "http", "scheme": "basic"}
    assert schemes["SessionAuth"] == {**schemes["SessionAuth"], "type": "apiKey", "in": "cookie"}
    security = schema["paths"]["/api/v1/projects/"]["get"]["security"]
    assert [next(iter(s)) for s in security] == ["BearerAuth", "ApiKeyAuth", "BasicAuth", "SessionAuth"]
