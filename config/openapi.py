"""Answers every operation can give, added to the OpenAPI document after drf-spectacular builds it."""

from __future__ import annotations

import copy

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
