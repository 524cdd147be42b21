"""Check API responses against the OpenAPI document that drf-spectacular generates.

``matches_schema(response)`` finds the operation for the request's path and method, takes the
response schema for its status code, and validates the body with jsonschema (OpenAPI 3.0's
``nullable`` is turned into JSON Schema's null type first). It answers a list of problems, so a
test can assert it is empty and see every mismatch at once.
"""

from __future__ import annotations

import copy
import re
from functools import cache

import jsonschema
from drf_spectacular.generators import SchemaGenerator


@cache
def openapi_document() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _nullable_to_jsonschema(node):
    if isinstance(node, dict):
        node = {k: _nullable_to_jsonschema(v) for k, v in node.items()}
        if node.pop("nullable", False):
            if "type" in node and isinstance(node["type"], str):
                node["type"] = [node["type"], "null"]
                if "enum" in node:
                    node["enum"] = [*node["enum"], None]
            else:
                node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable_to_jsonschema(v) for v in node]
    return node


@cache
def _components() -> dict:
    return _nullable_to_jsonschema(copy.deepcopy(openapi_document().get("components", {})))


@cache
def _path_patterns() -> list[tuple[re.Pattern, str]]:
    patterns = []
    for template in openapi_document()["paths"]:
        regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        patterns.append((re.compile(regex), template))
    # Literal segments beat parameters: longer templates with fewer braces first.
    patterns.sort(key=lambda p: (p[1].count("{"), -len(p[1])))
    return patterns


def operation_for(path: str, method: str) -> dict | None:
    for regex, template in _path_patterns():
        if regex.match(path):
            return openapi_document()["paths"][template].get(method.lower())
    return None


def matches_schema(response) -> list[str]:
    """Problems with the response against the schema; empty when it conforms."""
    request = response.wsgi_request
    operation = operation_for(request.path, request.method)
    if operation is None:
        return [f"{request.method} {request.path} is not in the OpenAPI document"]
    responses = operation.get("responses", {})
    spec = responses.get(str(response.status_code)) or responses.get("default")
    if spec is None:
        return [f"{request.method} {request.path} does not document status {response.status_code}"]
    content = (spec.get("content") or {}).get("application/json")
    if content is None:
        return [] if not getattr(response, "content", b"") else []
    schema = _nullable_to_jsonschema(copy.deepcopy(content.get("schema", {})))
    document = {**schema, "components": _components()}
    validator = jsonschema.Draft7Validator(document)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message}"
            for e in validator.iter_errors(response.json())]


def _operation_by_id(operation_id: str) -> dict | None:
    for methods in openapi_document()["paths"].values():
        for operation in methods.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                return operation
    return None


def assert_matches_schema(response, operation_id: str | None = None) -> None:
    """The response's status is documented for its operation and its body fits that schema.

    The operation is found by id when given, else by the request's path and method.
    """
    if operation_id is None:
        problems = matches_schema(response)
        assert not problems, problems
        return
    operation = _operation_by_id(operation_id)
    assert operation is not None, f"no operation {operation_id!r} in the OpenAPI document"
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"{operation_id} does not document status {response.status_code}"
    content = (documented.get("content") or {}).get("application/json")
    if response.status_code == 204 or content is None:
        return
    schema = _nullable_to_jsonschema(copy.deepcopy(content.get("schema", {})))
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message}" for e in
              jsonschema.Draft7Validator({**schema, "components": _components()},
                                         format_checker=jsonschema.FormatChecker()).iter_errors(response.json())]
    assert not errors, errors
