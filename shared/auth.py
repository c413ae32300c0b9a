"""Staff bearer tokens: HS256 JWTs carrying a staff id, a role and an org unit."""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jwt

from shared import orgs
from shared.config import (
    DEFAULT_JWT_AUDIENCE,
    DEFAULT_JWT_ISSUER,
    DEFAULT_JWT_MAX_LIFETIME_SECONDS,
    ConfigError,
    Settings,
    load_settings,
    process_settings,
)
from shared.contracts.roles import AT_CITY_ONLY, ROLES, ROLES_OF
from shared.errors import ApiError

ALGORITHM = "HS256"
DEFAULT_TTL_SECONDS = 8 * 3600
# RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
MINIMUM_SECRET_BYTES = 32
SECRET_ENVIRONMENT_VARIABLE = "STAFF_JWT_SECRET"  # noqa: S105 - the name, not the secret

_REQUIRED_CLAIMS = ("sub", "role", "org", "iss", "aud", "iat", "exp")
_ORG_CODE = re.compile(r"[A-Z0-9]+(-[A-Z0-9]+)*")


class AuthError(Exception):
    """The caller is not authenticated: answer 401."""


@dataclass(frozen=True)
class StaffPrincipal:
    sub: str
    role: str
    org: str

    def can_see(self, org_code: str) -> bool:
        """True when ``org_code`` is this staff member's own org unit or lies beneath it in the
        org tree; an org the tree does not know sees nothing, not even itself."""
        return orgs.contains(self.org, org_code)

    def to_claims(self) -> dict[str, str]:
        return {"sub": self.sub, "role": self.role, "org": self.org}


def mint_staff_token(
    secret: str,
    *,
    sub: str,
    role: str,
    org: str,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
    issuer: str = DEFAULT_JWT_ISSUER,
    audience: str = DEFAULT_JWT_AUDIENCE,
) -> str:
    """Sign a staff token that expires ``ttl_seconds`` after ``now`` (default: the clock)."""
    _require_strong_secret(secret)
    if not sub:
        raise ValueError("sub must be a non-empty staff id")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if not _ORG_CODE.fullmatch(org):
        raise ValueError(f"org {org!r} is not an org unit code such as LY or LY-XL-0042")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    issued_at = int(time.time() if now is None else now)
    claims = StaffPrincipal(sub=sub, role=role, org=org).to_claims()
    claims.update(iss=issuer, aud=audience, iat=issued_at, exp=issued_at + ttl_seconds)
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_staff_token(
    token: str,
    secret: str,
    *,
    now: float | None = None,
    issuer: str = DEFAULT_JWT_ISSUER,
    audience: str = DEFAULT_JWT_AUDIENCE,
    max_lifetime_seconds: int = DEFAULT_JWT_MAX_LIFETIME_SECONDS,
) -> StaffPrincipal:
    """Verify an HS256 staff token and return who it speaks for; AuthError says what is wrong."""
    _require_strong_secret(secret)
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=issuer,
            audience=audience,
            # Time claims are checked below against ``now``, which PyJWT cannot be given.
            options={
                "require": list(_REQUIRED_CLAIMS),
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError(f"token is missing the {exc.claim!r} claim") from None
    except jwt.InvalidAlgorithmError:
        raise AuthError(f"token algorithm is not allowed; only {ALGORITHM} is") from None
    except jwt.InvalidSignatureError:
        raise AuthError("token signature is invalid") from None
    except jwt.InvalidIssuerError:
        raise AuthError(f"token issuer is not {issuer}") from None
    except jwt.InvalidAudienceError:
        raise AuthError(f"token audience is not {audience}") from None
    except jwt.exceptions.InvalidSubjectError:
        raise AuthError("token claim 'sub' must be a non-empty string") from None
    except jwt.DecodeError:
        raise AuthError("token is malformed") from None
    except jwt.InvalidTokenError:
        raise AuthError("token is invalid") from None

    current_time = time.time() if now is None else now
    for claim in ("iat", "exp"):
        if not _is_number(claims[claim]):
            raise AuthError(f"token claim {claim!r} must be a number")
    if current_time >= claims["exp"]:
        raise AuthError("token has expired")
    # A leaked token must not be good for days: whoever minted it had to keep it short.
    if claims["exp"] - claims["iat"] > max_lifetime_seconds:
        raise AuthError(f"token lifetime exceeds {max_lifetime_seconds} seconds")
    if "nbf" in claims:
        if not _is_number(claims["nbf"]):
            raise AuthError("token claim 'nbf' must be a number")
        if current_time < claims["nbf"]:
            raise AuthError("token is not valid yet")

    for claim in ("sub", "role", "org"):
        if not isinstance(claims[claim], str) or not claims[claim]:
            raise AuthError(f"token claim {claim!r} must be a non-empty string")
    if claims["role"] not in ROLES:
        raise AuthError(f"token carries unknown role {claims['role'][:40]!r}")
    if not _ORG_CODE.fullmatch(claims["org"]):
        raise AuthError("token claim 'org' is not an org unit code")
    return StaffPrincipal(sub=claims["sub"], role=claims["role"], org=claims["org"])


def _is_number(value: object) -> bool:
    # Python's JSON reader accepts NaN and Infinity, and an exp of NaN would never expire.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _require_strong_secret(secret: str) -> None:
    if not isinstance(secret, str) or len(secret.encode("utf-8")) < MINIMUM_SECRET_BYTES:
        raise ValueError(
            f"staff token secret ({SECRET_ENVIRONMENT_VARIABLE}) must be at least"
            f" {MINIMUM_SECRET_BYTES} bytes"
        )


def bearer_token(authorization_header_value: str | None) -> str:
    """The token from an ``Authorization: Bearer <token>`` header value."""
    if not authorization_header_value:
        raise AuthError("missing Authorization header")
    parts = authorization_header_value.split()
    # RFC 7235: the scheme name is case-insensitive.
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise AuthError("Authorization header must be 'Bearer <token>'")
    return parts[1]


def verify_staff_token(token: str, settings: Settings) -> StaffPrincipal:
    """``decode_staff_token`` with the secret, issuer, audience and lifetime of ``settings``."""
    return decode_staff_token(
        token,
        settings.staff_jwt_secret,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        max_lifetime_seconds=settings.jwt_max_lifetime_seconds,
    )


def may(role: str, action: str) -> bool:
    """True when ``role`` may do ``action``, by the one table (shared/contracts/roles.py); an
    action missing from it is a KeyError, never a silent refusal or grant."""
    return role in ROLES_OF[action]


def require(principal: StaffPrincipal, action: str) -> None:
    """A 403 for the API unless the principal's role may do ``action``."""
    if not may(principal.role, action):
        raise ApiError(403, "forbidden", f"role {principal.role} may not do this")


def authorized(credential: object, action: str) -> StaffPrincipal:
    """The caller of an RPC, if its role may do ``action``. The gateway forwards the staff token
    itself and the service owning the action verifies it with its own copy of the secret, so
    whoever reaches the broker cannot simply claim to be someone (a 401), nor exceed their role
    (a 403); an org the tree does not know sees nothing, whatever its role (a 403); an action on
    the federation's own money (``AT_CITY_ONLY``) is for the city root org alone (a 403)."""
    if not isinstance(credential, str):
        raise ApiError(401, "unauthorized", "A staff token is required.")
    try:
        principal = verify_staff_token(credential, process_settings())
    except AuthError as exc:
        raise ApiError(401, "unauthorized", str(exc)) from None
    require(principal, action)
    if not orgs.is_known(principal.org):
        raise ApiError(403, "forbidden", f"org {principal.org[:40]} is not an org unit of the city")
    if action in AT_CITY_ONLY and not orgs.is_city_root(principal.org):
        roles = " or ".join(ROLES_OF[action])
        raise ApiError(
            403, "forbidden", f"only {roles} at the city org {orgs.city_root()} may do this"
        )
    return principal


# Partners (hospitals, city platforms) sign their requests to the gateway; the gateway vouches
# for the one it verified with a short assertion of its own. It is signed with the staff secret,
# which every service already holds (whoever holds it can mint a city_admin token, far more than
# a hospital may do, so a second secret would add distribution without narrowing anything); its
# own audience keeps it from ever passing for a staff token, and the reverse.
PARTNER_AUDIENCE = "unionhub-partner"
PARTNER_ASSERTION_SECONDS = 60


def mint_partner_assertion(
    partner: Mapping, settings: Settings, *, now: float | None = None
) -> str:
    """The gateway's word that it verified ``partner`` (``{"code", "kind", "level"}``)."""
    issued_at = int(time.time() if now is None else now)
    claims = {
        "sub": partner["code"],
        "kind": partner["kind"],
        "level": partner["level"],
        "iss": settings.jwt_issuer,
        "aud": PARTNER_AUDIENCE,
        "iat": issued_at,
        "exp": issued_at + PARTNER_ASSERTION_SECONDS,
    }
    return jwt.encode(claims, settings.staff_jwt_secret, algorithm=ALGORITHM)


def authorized_partner(assertion: object, kind: str) -> dict:
    """The partner the gateway vouched for, as registered (``{"code", "kind", "level"}``), if
    the assertion is the gateway's, fresh, and for a partner of ``kind``; else a 401."""
    settings = process_settings()
    try:
        if not isinstance(assertion, str):
            raise jwt.InvalidTokenError("a partner assertion is required")
        claims = jwt.decode(
            assertion,
            settings.staff_jwt_secret,
            algorithms=[ALGORITHM],
            issuer=settings.jwt_issuer,
            audience=PARTNER_AUDIENCE,
            options={"require": ["sub", "kind", "iss", "aud", "iat", "exp"]},
        )
        # A city platform has no level (JWT cannot require a claim whose value is null).
        if kind == "hospital" and claims.get("level") is None:
            raise jwt.InvalidTokenError("a hospital's assertion states its level")
        if (
            not _is_number(claims["iat"])
            or claims["exp"] - claims["iat"] > PARTNER_ASSERTION_SECONDS
        ):
            raise jwt.InvalidTokenError("the assertion lives too long")
        if claims["kind"] != kind:
            raise jwt.InvalidTokenError(f"the partner is not a {kind}")
    except jwt.InvalidTokenError as exc:
        raise ApiError(401, "unauthorized", f"Partner assertion rejected: {exc}.") from None
    return {"code": claims["sub"], "kind": claims["kind"], "level": claims.get("level")}


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    """``python -m shared.auth mint --role city_admin --org LY``: print a token for local use."""
    parser = argparse.ArgumentParser(prog="python -m shared.auth", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    mint = commands.add_parser(
        "mint",
        help=f"print a staff token signed with ${SECRET_ENVIRONMENT_VARIABLE} "
        "(its development default unless APP_ENV=production)",
    )
    mint.add_argument("--role", required=True, choices=ROLES)
    mint.add_argument("--org", required=True, help="org unit code, e.g. LY or LY-XL-0042")
    mint.add_argument("--sub", default="dev-admin", help="staff id (default: dev-admin)")
    mint.add_argument("--ttl", type=int, default=DEFAULT_TTL_SECONDS, help="lifetime in seconds")
    arguments = parser.parse_args(argv)

    # The same settings the gateway reads: the development default when APP_ENV allows one.
    try:
        settings = load_settings(environ)
    except ConfigError as exc:
        print(f"cannot mint: {exc}; export the secret the gateway uses", file=sys.stderr)
        return 2
    try:
        if arguments.ttl > settings.jwt_max_lifetime_seconds:
            raise ValueError(
                f"--ttl {arguments.ttl} exceeds JWT_MAX_LIFETIME_SECONDS"
                f" ({settings.jwt_max_lifetime_seconds}); the services would refuse the token"
            )
        token = mint_staff_token(
            settings.staff_jwt_secret,
            sub=arguments.sub,
            role=arguments.role,
            org=arguments.org,
            ttl_seconds=arguments.ttl,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    except ValueError as exc:
        print(f"cannot mint: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
