"""The OpenAPI schema describes the accounts endpoints and all four credential kinds."""

from __future__ import annotations

import pytest
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture
def accounts_schema():
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/v1/", include("accounts.api.urls"))])
    schema = generator.get_schema(request=None, public=True)
    warnings = dict(GENERATOR_STATS._warn_cache) | dict(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    return schema, warnings


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
