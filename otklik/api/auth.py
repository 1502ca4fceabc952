"""Token authentication: `Authorization: Token <key>`.

Tokens are django-rest-knox tokens: only a hash is stored, each can be revoked (`POST /api/v1/auth/logout`,
`create_api_token --revoke-all`), and they do not expire by age (`REST_KNOX["TOKEN_TTL"] = None`).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication as KnoxTokenAuthentication


class TokenAuthentication(KnoxTokenAuthentication):
    """`Authorization: Token <key>`; tokens are stored hashed by knox and can be revoked."""


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "otklik.api.auth.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")  # noqa: S106 (the scheme word, not a secret)
