from __future__ import annotations

from knox.auth import TokenAuthentication as KnoxTokenAuthentication


class TokenAuthentication(KnoxTokenAuthentication):
    """`Authorization: Token <key>`; tokens are stored hashed by knox and can be revoked."""
