"""Rate limits: per API key or user, and per address for anonymous callers."""

from rest_framework.throttling import SimpleRateThrottle

from accounts.caller import Caller


class CallerRateThrottle(SimpleRateThrottle):
    scope = "caller"

    def get_cache_key(self, request, view):
        caller = request.auth
        if not isinstance(caller, Caller):
            return None
        ident = f"key-{caller.api_key.pk}" if caller.api_key is not None else f"user-{caller.user_id}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonymousRateThrottle(SimpleRateThrottle):
    scope = "anonymous"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, Caller):
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
