"""The base of Flowgate's middleware that wraps the rest of the chain (logging context, request metrics).

Kept apart from ``config.middleware`` so that the logging set-up, which imports ``config.logs``
while the settings load, pulls in nothing else.
"""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction


class AroundRequestMiddleware:
    """A middleware that runs code around the rest of the chain, under WSGI and ASGI alike (no thread
    hop under ASGI). Subclasses define ``before(request)``, whose value is handed to ``after`` (with
    the response) and to ``cleanup`` (always, even when the chain raised)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def before(self, request):
        return None

    def after(self, request, response, state) -> None:
        pass

    def cleanup(self, state) -> None:
        pass

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        state = self.before(request)
        try:
            response = self.get_response(request)
            self.after(request, response, state)
            return response
        finally:
            self.cleanup(state)

    async def _acall(self, request):
        state = self.before(request)
        try:
            response = await self.get_response(request)
            self.after(request, response, state)
            return response
        finally:
            self.cleanup(state)
