"""Answers every operation can give, added to the OpenAPI document after drf-spectacular builds it."""

from __future__ import annotations

import copy
import re
import uuid

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc

from config import openapi_examples as examples

# Every API view is throttled (REST_FRAMEWORK's DEFAULT_THROTTLE_CLASSES), every unexpected failure
# answers 500 and an unreachable database 503; all come in the operation's own error shape, the one
# its 401 documents.
COMMON_ANSWERS = {
    # Refused before the view runs (config.middleware), whatever the operation.
    "413": "The request body is larger than the server accepts (DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB by default).",
    "429": "Too many requests from this caller or address; Retry-After says when to try again.",
    "500": "An unexpected failure. It was logged; retrying may help.",
    "503": "The database is unavailable at the moment (nothing was changed); Retry-After says when to try again.",
}


def document_common_answers(result, generator, request, public):
    """drf-spectacular post-processing hook: add 413, 429, 500 and 503 to every operation that requires credentials."""
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            responses = operation.get("responses") if isinstance(operation, dict) else None
            if not responses or "401" not in responses:
                continue
            for code, description in COMMON_ANSWERS.items():
                if code not in responses:
                    responses[code] = {**copy.deepcopy(responses["401"]), "description": description}
    return result


# -- written for callers -----------------------------------------------------------------------------
class CallerSchema(AutoSchema):
    """Describes an operation from its ``extend_schema(description=...)`` or its own view's docstrings.

    A docstring a view inherits (a mixin's, a surface's base class) is written for Flowgate's
    developers, not for callers, and is left out.
    """

    def get_description(self):
        view_class = self.view.__class__
        action = getattr(self.view, "action", None) or self.method.lower()
        handler = getattr(view_class, action, None)
        own_handler = handler is not None and any(action in klass.__dict__ for klass in view_class.__mro__
                                                  if klass.__module__ == view_class.__module__)
        return (own_handler and get_doc(handler)) or (view_class.__dict__.get("__doc__") and get_doc(view_class)) or ""


def document_for_callers(result, generator, request, public):
    """drf-spectacular post-processing hook: tags with descriptions, descriptions, examples, JSON bodies.

    Native operations get the tag of their area; every operation gets an example of its request body
    and of each answer with a body (a written one from ``config.openapi_examples``, else one built
    from the schema); where an operation takes JSON, only JSON is documented (its form encodings exist
    for the browsable API).
    """
    components = result.get("components", {}).get("schemas", {})
    for path, methods in result.get("paths", {}).items():
        for operation in methods.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            operation["tags"] = [_tag_of(path, tag) for tag in operation.get("tags") or ["api"]]
            _document_input_answers(path, operation)
            operation_id = operation.get("operationId", "")
            if operation_id in examples.DESCRIPTIONS:
                operation["description"] = examples.DESCRIPTIONS[operation_id]
            written = examples.EXAMPLES.get(operation_id, {})
            _document_request_body(operation, written, components)
            if operation_id in examples.SUMMARIES:
                operation["summary"] = examples.SUMMARIES[operation_id]
            _document_answers(operation, written, components)
    used = {tag for methods in result.get("paths", {}).values() for operation in methods.values()
            if isinstance(operation, dict) for tag in operation.get("tags", [])}
    result["tags"] = [{"name": name, "description": description} for name, description in examples.TAGS
                      if name in used]
    return result


def _document_request_body(operation: dict, written: dict, components: dict) -> None:
    """JSON only where the operation takes JSON, with the written example or one built from the schema."""
    body = operation.get("requestBody")
    if not body:
        return
    content = body.get("content", {})
    if "application/json" in content:
        body["content"] = content = {"application/json": content["application/json"]}
    for media_type, media in content.items():
        if "request" in written and media_type == "application/json":
            media["examples"] = {"Request": {"value": written["request"]}}
        elif "examples" not in media and "example" not in media:
            media["examples"] = {"Request": {"value": example_for(media.get("schema", {}), components)}}


def _document_answers(operation: dict, written: dict, components: dict) -> None:
    """An example of each answer with a body: the written one, the error shape's, or one built from the schema."""
    for code, response in operation["responses"].items():
        for media_type, media in response.get("content", {}).items():
            if code in written.get("responses", {}) and media_type == "application/json":
                media["examples"] = {"Answer": {"value": written["responses"][code]}}
            elif "examples" in media or "example" in media:
                continue
            elif media.get("schema") == {"$ref": "#/components/schemas/Error"}:
                detail = examples.ERROR_DETAILS.get(code, response.get("description", ""))
                media["examples"] = {"Answer": {"value": {"detail": detail, "errors": []}}}
            else:
                media["examples"] = {"Answer": {"value": example_for(media.get("schema", {}), components)}}


def _document_input_answers(path: str, operation: dict) -> None:
    """A query parameter may be sent empty (a native filter then filters nothing, FlowSynx's paging takes its
    default), and a bad one answers 400; a body in a media type the operation does not read answers 415."""
    responses = operation["responses"]
    if "requestBody" in operation and "415" not in responses and "401" in responses:
        responses["415"] = {"content": _shape_of(responses["401"]),
                            "description": "The body's Content-Type is not one the operation reads."}
    queries = [parameter for parameter in operation.get("parameters", []) if parameter.get("in") == "query"]
    if not queries:
        return
    if path.startswith(("/api/v1/", "/workflows/")):
        for parameter in queries:
            if not parameter.get("required") and parameter.get("schema", {}).get("type") != "array":
                parameter["allowEmptyValue"] = True
    if "400" not in responses and "401" in responses:
        responses["400"] = {"content": _shape_of(responses["401"]),
                            "description": "A query parameter is not valid; the body says which and why."}


def _shape_of(response: dict) -> dict:
    """The content of ``response`` without its examples (an answer of another code shares its shape)."""
    return {media_type: {"schema": copy.deepcopy(media["schema"])}
            for media_type, media in (response.get("content") or {}).items()}


def _tag_of(path: str, tag: str) -> str:
    if tag == "api":
        for pattern, native in examples.NATIVE_TAGS:
            if re.match(pattern, path):
                return native
    return examples.RENAMED_TAGS.get(tag, tag)


MAX_DEPTH = 8


def example_for(schema: dict, components: dict, name: str = "", depth: int = 0):
    """A value that fits ``schema``: its own example, an enum's first word, or one built from its type."""
    while "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    if "example" in schema:
        return schema["example"]
    if schema.get("enum"):
        return next((word for word in schema["enum"] if word is not None), None)
    if any(schema.get(combinator) for combinator in ("oneOf", "anyOf", "allOf")):
        return _combined_example(schema, components, name, depth)
    kind = schema.get("type")
    hint = examples.PROPERTY_EXAMPLES.get(name)
    if depth > MAX_DEPTH:
        return None if schema.get("nullable") else {} if kind == "object" else [] if kind == "array" else "…"
    if kind == "object" or "properties" in schema:
        return _object_example(schema, components, hint, depth)
    if kind == "array":
        return hint if isinstance(hint, list) else [example_for(schema.get("items", {}), components, name, depth + 1)]
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        low = schema.get("minimum", 1 if kind == "integer" else 1.5)
        return min(low, schema["maximum"]) if "maximum" in schema else low
    if kind == "string":
        return _string_example(schema, name, hint)
    # Any JSON value (an output, a return value).
    return hint if hint is not None else {"key": "value"}


def _combined_example(schema: dict, components: dict, name: str, depth: int):
    """oneOf/anyOf: the first choice's; allOf: the parts' objects merged (or the one part's)."""
    for combinator in ("oneOf", "anyOf"):
        if schema.get(combinator):
            return example_for(schema[combinator][0], components, name, depth)
    if len(schema["allOf"]) == 1:
        return example_for(schema["allOf"][0], components, name, depth)
    merged: dict = {}
    for part in schema["allOf"]:
        value = example_for(part, components, name, depth)
        if isinstance(value, dict):
            merged.update(value)
    return merged


def _object_example(schema: dict, components: dict, hint, depth: int) -> dict:
    if "properties" in schema:
        return {key: example_for(value, components, key, depth + 1) for key, value in schema["properties"].items()}
    if isinstance(hint, dict):
        return hint
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and extra:
        return {"key": example_for(extra, components, "", depth + 1)}
    return {"key": "value"}


def _string_example(schema: dict, name: str, hint) -> str:
    fmt = schema.get("format")
    if fmt == "uuid":
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"flowgate:{name}"))
    if fmt == "date-time":
        return examples.SEEN_AT
    if fmt == "date":
        return examples.SEEN_AT[:10]
    if fmt in ("uri", "url"):
        return "https://hooks.example.com/flowgate"
    if fmt == "email":
        return "april@example.com"
    if fmt == "binary":
        return "report.csv"
    value = hint if isinstance(hint, str) else (name or "text")
    pattern = schema.get("pattern")
    if pattern and not re.search(pattern, value):
        value = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-") or "text"
    if "maxLength" in schema:
        value = value[: schema["maxLength"]]
    if len(value) < schema.get("minLength", 0):
        value = value.ljust(schema["minLength"], "x")
    return value
