"""OpenAPI security schemes for Flowgate's four authentication classes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerKeyAuthentication"
    name = "BearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "API key",
            "description": "`Authorization: Bearer <api key>`. Keys are created in the admin or with "
                           "`manage.py createapikey`, and shown once.",
        }


class HeaderKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.HeaderKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "x-api-key",
            "description": "The same API key in an `x-api-key` header.",
        }


class TenantBasicScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.TenantBasicAuthentication"
    name = "BasicAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "A user's username and password. A user in several tenants picks one with the "
                           "`X-Flowgate-Tenant` header (slug or id).",
        }


class TenantSessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.TenantSessionAuthentication"
    name = "SessionAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "Session login at /accounts/login/ (web pages and the browsable API); unsafe "
                           "methods need the CSRF token.",
        }
