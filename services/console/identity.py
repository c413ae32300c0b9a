"""Who is signed in: the session cookie, the development sign-in and the OpenID Connect one.

The session is a signed cookie (itsdangerous) holding the staff token the console minted for
the person and a CSRF token; it expires with the token, and signing out forgets it. The
console mints staff tokens with the secret every service verifies, so the gateway and the
services judge a console user exactly as any other staff app's (role table, org scope, audit).
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from services.console.config import ConsoleSettings
from shared import orgs
from shared.auth import mint_staff_token
from shared.contracts.roles import ROLES

COOKIE = "uh_console"
SALT = "unionhub-console-session"
ROLE_NAMES = {
    "city_admin": "市总管理员",
    "county_staff": "县级工会干部",
    "grassroots_staff": "基层工会干部",
    "finance": "财务",
    "reviewer": "审核员",
    "auditor": "审计员",
}


class SignInRefused(Exception):
    """The person may not sign in this way (the message says why, in Chinese)."""


@dataclass(frozen=True)
class Staff:
    sub: str
    name: str
    role: str
    org: str
    token: str
    expires_at: int

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role)


class Sessions:
    """Signed, expiring session cookies; a signed-out session id is refused until it expires."""

    def __init__(self, settings: ConsoleSettings):
        self.settings = settings
        self.serializer = URLSafeTimedSerializer(settings.session_secret, salt=SALT)
        self._signed_out: dict[str, int] = {}

    def load(self, cookie: str | None, now: float | None = None) -> dict:
        """The session's data, or a fresh anonymous one (with its own CSRF token)."""
        now = time.time() if now is None else now
        if cookie:
            try:
                data = self.serializer.loads(cookie, max_age=self.settings.session_seconds)
            except BadSignature:
                data = None
            if (
                isinstance(data, dict)
                and data.get("sid") not in self._signed_out
                and data.get("exp", 0) > now
            ):
                return data
        return self.anonymous(now)

    def anonymous(self, now: float | None = None) -> dict:
        now = time.time() if now is None else now
        return {
            "sid": secrets.token_urlsafe(16),
            "csrf": secrets.token_urlsafe(24),
            "exp": int(now) + self.settings.session_seconds,
        }

    def dump(self, data: dict) -> str:
        return self.serializer.dumps(data)

    def forget(self, data: dict, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self._signed_out = {s: e for s, e in self._signed_out.items() if e > now}
        if data.get("sid"):
            self._signed_out[data["sid"]] = int(data.get("exp", now))

    def cookie_options(self, data: dict) -> dict:
        return {
            "max_age": max(0, int(data["exp"] - time.time())),
            "httponly": True,
            "samesite": "Lax",
            "secure": not self.settings.is_development,
            "path": "/",
        }

    def sign_in(self, staff_claims: dict, now: float | None = None) -> dict:
        """A new session (new id and CSRF token: no fixation) holding a freshly minted token."""
        now = time.time() if now is None else now
        ttl = self.settings.session_seconds
        token = mint_staff_token(
            self.settings.staff_jwt_secret,
            sub=staff_claims["sub"],
            role=staff_claims["role"],
            org=staff_claims["org"],
            ttl_seconds=ttl,
            now=now,
            issuer=self.settings.jwt_issuer,
            audience=self.settings.jwt_audience,
        )
        data = self.anonymous(now)
        data.update(
            token=token,
            sub=staff_claims["sub"],
            name=staff_claims.get("name") or staff_claims["sub"],
            role=staff_claims["role"],
            org=staff_claims["org"],
        )
        return data


def staff_of(data: dict) -> Staff | None:
    if not data.get("token"):
        return None
    return Staff(
        sub=data["sub"],
        name=data["name"],
        role=data["role"],
        org=data["org"],
        token=data["token"],
        expires_at=data["exp"],
    )


def csrf_ok(data: dict, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(str(data.get("csrf", "")), str(sent))


def development_claims(settings: ConsoleSettings, form: dict) -> dict:
    """The staff a development sign-in speaks for; refused outright in production."""
    if not settings.is_development:
        raise SignInRefused("生产环境不提供开发登录，请使用统一身份认证登录。")
    # A choice from the contract's list of roles (input validation, not a permission check).
    chosen_role = form.get("role") or ""
    org = (form.get("org") or "").strip()
    name = (form.get("name") or "").strip()
    errors = {}
    if chosen_role not in ROLES:
        errors["role"] = "请选择角色。"
    if not orgs.is_known(org):
        errors["org"] = "不是本市的组织代码（如 LY、LY-XL、LY-XL-0042）。"
    if not name or len(name) > 40:
        errors["name"] = "请填写姓名或工号（不超过40字）。"
    if errors:
        raise FieldErrors(errors)
    return {"sub": name, "name": name, "role": chosen_role, "org": org}


class FieldErrors(Exception):
    def __init__(self, fields: dict[str, str]):
        super().__init__(fields)
        self.fields = fields


def claims_from_id_token(settings: ConsoleSettings, claims: dict) -> dict:
    """Turn verified ID-token claims into the staff a token is minted for. The role claim is a
    role name or a list holding exactly one; the org claim an org unit the tree knows."""
    sub = claims.get("preferred_username") or claims.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        raise SignInRefused("身份令牌缺少用户标识。")
    raw_role = claims.get(settings.oidc_role_claim)
    candidates = raw_role if isinstance(raw_role, list) else [raw_role]
    roles = sorted({r for r in candidates if isinstance(r, str) and r in ROLES})
    if len(roles) != 1:
        raise SignInRefused(
            "身份令牌未给出唯一的系统角色。" if roles else "身份令牌中没有本系统的角色。"
        )
    org = claims.get(settings.oidc_org_claim)
    if not isinstance(org, str) or not orgs.is_known(org):
        raise SignInRefused("身份令牌中的组织代码不属于本市组织树。")
    name = claims.get("name") if isinstance(claims.get("name"), str) else sub
    return {"sub": sub.strip()[:64], "name": name[:40], "role": roles[0], "org": org}


def verify_id_token(
    settings: ConsoleSettings, id_token: str, jwks: dict, nonce: str, now: float | None = None
) -> dict:
    """The ID token's claims once its signature (the IdP's keys), issuer, audience, expiry and
    nonce check out (OpenID Connect Core §3.1.3.7); else SignInRefused."""
    try:
        token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256", "ES256"])
        registry = jwt.JWTClaimsRegistry(
            now=int(time.time() if now is None else now),
            leeway=60,
            iss={"essential": True, "value": settings.oidc_issuer},
            aud={"essential": True, "value": settings.oidc_client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(token.claims)
    except (JoseError, ValueError) as exc:
        raise SignInRefused(f"身份令牌校验失败：{type(exc).__name__}") from None
    return dict(token.claims)
