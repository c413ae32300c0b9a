"""OpenID Connect sign-in (authorization code with PKCE) through Authlib's OAuth 2 client; the
ID token is verified with joserfc (Authlib's JOSE successor) in ``identity.verify_id_token``."""

from __future__ import annotations

import secrets
import time

import requests
from authlib.integrations.requests_client import OAuth2Session

from services.console.config import ConsoleSettings
from services.console.identity import SignInRefused

DISCOVERY_SECONDS = 3600


class OidcClient:
    def __init__(self, settings: ConsoleSettings, http: requests.Session | None = None):
        self.settings = settings
        self.http = http or requests.Session()
        self._metadata: tuple[float, dict] | None = None
        self._jwks: tuple[float, dict] | None = None

    def metadata(self) -> dict:
        if self._metadata is None or time.monotonic() - self._metadata[0] > DISCOVERY_SECONDS:
            url = self.settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
            response = self.http.get(url, timeout=10)
            response.raise_for_status()
            document = response.json()
            if document.get("issuer") != self.settings.oidc_issuer:
                raise SignInRefused("身份提供方的发现文档与配置的 issuer 不符。")
            self._metadata = (time.monotonic(), document)
        return self._metadata[1]

    def jwks(self) -> dict:
        if self._jwks is None or time.monotonic() - self._jwks[0] > DISCOVERY_SECONDS:
            response = self.http.get(self.metadata()["jwks_uri"], timeout=10)
            response.raise_for_status()
            self._jwks = (time.monotonic(), response.json())
        return self._jwks[1]

    def _session(self) -> OAuth2Session:
        return OAuth2Session(
            client_id=self.settings.oidc_client_id,
            client_secret=self.settings.oidc_client_secret,
            scope="openid profile",
            redirect_uri=self.settings.oidc_redirect_uri,
            code_challenge_method="S256",
        )

    def begin(self) -> tuple[str, dict]:
        """The IdP's authorization URL and what the callback must find in the session."""
        pending = {
            "state": secrets.token_urlsafe(24),
            "nonce": secrets.token_urlsafe(24),
            "verifier": secrets.token_urlsafe(48),
        }
        url, _ = self._session().create_authorization_url(
            self.metadata()["authorization_endpoint"],
            state=pending["state"],
            nonce=pending["nonce"],
            code_verifier=pending["verifier"],
        )
        return url, pending

    def finish(self, pending: dict, args: dict) -> str:
        """The ID token for the callback's code, once its state matches the one we sent."""
        if not pending or not secrets.compare_digest(
            str(args.get("state", "")), str(pending.get("state", ""))
        ):
            raise SignInRefused("登录请求已失效，请重新登录。")
        if args.get("error"):
            raise SignInRefused(f"身份提供方拒绝了登录：{str(args['error'])[:60]}")
        token = self._session().fetch_token(
            self.metadata()["token_endpoint"],
            code=args.get("code"),
            code_verifier=pending["verifier"],
        )
        if not token.get("id_token"):
            raise SignInRefused("身份提供方没有返回身份令牌。")
        return token["id_token"]
