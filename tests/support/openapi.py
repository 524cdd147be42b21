"""Every API response a test receives is checked against the OpenAPI document drf-spectacular generates.

``response_problems(response)`` finds the operation that serves the request's path and method and
answers what is wrong with the response: a status code the operation does not document, a body
where it documents none, or a body that does not fit the documented schema. Objects may hold only
the properties the document lists. A method the document does not list for a path must be refused:
405, or a refusal that comes first and that the path documents (401, 403, 429), in the shape of the
path's errors. Paths no operation serves (pages, the admin, the JSON 404 of an unknown API path)
are not checked: ``response_problems`` answers None for them.

The test clients of ``tests.support.clients`` call ``check_response`` after every request, so a
test fails on the first response that drifts from the document. A test that must receive an
undocumented answer names the operation and why with ``@pytest.mark.openapi_exempt(operation_id,
reason=...)``.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache

import jsonschema
from django.urls import Resolver404, resolve
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from config import errors

# Operation ids the running test opted out of (set per test by the ``openapi_exempt`` marker).
exempt_operations: set[str] = set()


class SchemaMismatch(AssertionError):
    """A response that the OpenAPI document does not describe."""


@cache
def openapi_document() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def generate_document(patterns: list) -> tuple[dict, dict]:
    """The document of the URL ``patterns`` alone, and the warnings and errors drf-spectacular gave for it."""
    GENERATOR_STATS.reset()
    try:
        document = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
        return document, dict(GENERATOR_STATS._warn_cache) | dict(GENERATOR_STATS._error_cache)
    finally:
        GENERATOR_STATS.reset()


def _strict(node):
    """The schema in JSON Schema terms: ``nullable`` as a null type, and no undocumented properties."""
    if isinstance(node, list):
        return [_strict(value) for value in node]
    if not isinstance(node, dict):
        return node
    node = {key: _strict(value) for key, value in node.items()}
    if "properties" in node and "additionalProperties" not in node and not {"allOf", "oneOf", "anyOf"} & set(node):
        node["additionalProperties"] = False
    if node.pop("nullable", False):
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


@cache
def _components() -> dict:
    return _strict(copy.deepcopy(openapi_document().get("components", {})))


@cache
def _path_patterns() -> list[tuple[re.Pattern, str]]:
    """A pattern per documented path; the trailing slash is optional, as the API's routes make it."""
    patterns = []
    for template in openapi_document()["paths"]:
        parts = re.split(r"(\{[^}]+\})", template.rstrip("/"))
        regex = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
        patterns.append((re.compile(f"^{regex}/?$"), template))
    # Literal segments beat parameters: fewer parameters first, then longer templates.
    patterns.sort(key=lambda pattern: (pattern[1].count("{"), -len(pattern[1])))
    return patterns


def documented_path(path: str) -> str | None:
    """The document's path template for a request path that a documented endpoint serves, else None."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    if match.func is errors.not_found:  # the JSON 404 of an unknown API path
        return None
    for regex, template in _path_patterns():
        if regex.match(path):
            return template
    return None


@cache
def _validator(schema_json: str) -> jsonschema.Draft7Validator:
    schema = _strict(json.loads(schema_json))
    return jsonschema.Draft7Validator({**schema, "components": _components()},
                                      format_checker=jsonschema.FormatChecker())


def _validate(schema: dict, body) -> list[str]:
    validator = _validator(json.dumps(schema, sort_keys=True))
    return [f"{'/'.join(map(str, error.absolute_path)) or '<body>'}: {error.message}"
            for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))]


def _json_body(response) -> tuple[object, str | None]:
    content_type = response.get("Content-Type", "")
    if not content_type.startswith("application/json"):
        return None, f"the body is {content_type or 'untyped'}, not application/json"
    try:
        return json.loads(response.content), None
    except ValueError as error:
        return None, f"the body is not JSON ({error})"


def _refusals(operations: dict) -> tuple[set[str], list[dict]]:
    """The 4xx codes documented for a path's operations, and the distinct schemas of their bodies."""
    codes, schemas = set(), []
    for operation in operations.values():
        for code, documented in operation.get("responses", {}).items():
            if not code.startswith("4"):
                continue
            codes.add(code)
            schema = ((documented.get("content") or {}).get("application/json") or {}).get("schema")
            if schema is not None and schema not in schemas:
                schemas.append(schema)
    return codes, schemas


def _undocumented_method_problems(response, template: str, operations: dict) -> list[str]:
    """A method the document does not list is refused: 405, or a refusal that comes first (401, 403, 429)."""
    label = f"{response.wsgi_request.method} {template} (a method the document does not list)"
    codes, schemas = _refusals(operations)
    status = str(response.status_code)
    if status != "405" and status not in codes:
        return [f"{label} answered {status}; it must answer 405 or a refusal the path documents "
                f"({', '.join(sorted(codes))})"]
    body, problem = _json_body(response)
    if problem:
        return [f"{label} answered {status} but {problem}"]
    if schemas and all(_validate(schema, body) for schema in schemas):
        return [f"{label} answered {status} in none of the error shapes the path documents: {body!r}"]
    return []


def response_problems(response) -> list[str] | None:
    """What is wrong with the response against the document; None when its path is not in the document."""
    request = response.wsgi_request
    template = documented_path(request.path_info)
    if template is None:
        return None
    operations = {method: operation for method, operation in openapi_document()["paths"][template].items()
                  if isinstance(operation, dict) and "responses" in operation}
    method = request.method.lower()
    operation = operations.get("get" if method == "head" else method)
    if operation is None:
        return _undocumented_method_problems(response, template, operations)
    label = f"{operation['operationId']} ({request.method} {template})"
    if operation["operationId"] in exempt_operations:
        return []
    responses = operation["responses"]
    status = str(response.status_code)
    documented = responses.get(status) or responses.get(f"{status[0]}XX") or responses.get("default")
    if documented is None:
        return [f"{label} answered {status}, which it does not document (it documents {', '.join(responses)})"]
    content = documented.get("content") or {}
    if method == "head" or getattr(response, "streaming", False):
        return []
    if not content:
        return [f"{label} documents no body for {status}, but answered {response.content[:200]!r}"] \
            if response.content else []
    if "application/json" not in content:
        return [f"{label} documents {', '.join(content)} for {status}; the tests check only JSON"]
    body, problem = _json_body(response)
    if problem:
        return [f"{label} answered {status} but {problem}"]
    schema = content["application/json"].get("schema", {})
    return [f"{label} answered {status}: {problem}" for problem in _validate(schema, body)]


def check_response(response) -> None:
    """Raise ``SchemaMismatch`` when the response drifts from the document."""
    problems = response_problems(response)
    if problems:
        raise SchemaMismatch("The response does not match the OpenAPI document:\n  " + "\n  ".join(problems))


def value_problems(schema: dict, value) -> list[str]:
    """What keeps ``value`` from fitting ``schema`` (a schema of the document, its ``$ref``s resolved)."""
    return _validate(schema, value)
