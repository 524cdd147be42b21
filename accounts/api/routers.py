"""A router whose routes answer with or without the trailing slash.

The native API is reached at ``/api/v1/projects/`` and ``/api/v1/projects/{id}`` alike, and
``APPEND_SLASH`` is off (the documented surfaces must never be redirected), so the optional
slash lives in the route itself.
"""

from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    def __init__(self) -> None:
        super().__init__(trailing_slash=True)
        self.trailing_slash = "/?"
