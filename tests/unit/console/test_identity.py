"""The console's sign-in: development tokens only outside production, OpenID Connect claims
turned into a role and an org, ID tokens verified, sessions signed, expiring and forgotten."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from services.console import identity
from services.console.config import load_console_settings
from shared.auth import decode_staff_token
from shared.config import ConfigError

ISSUER = "https://sso.example.invalid/realms/federation"
STRONG = "k7R#pQ2v!Xz9Lm4Tn8Wb6Yc3Hd5Jf1Gs0"


def settings(**env):
    return load_console_settings({"APP_ENV": "test", **env})


def production(**env):
    return load_console_settings(
        {
            "APP_ENV": "production",
            "STAFF_JWT_SECRET": STRONG,
            "CONSOLE_SESSION_SECRET": STRONG[::-1] + "Qe",
            "OIDC_ISSUER": ISSUER,
            "OIDC_CLIENT_ID": "unionhub-console",
            "OIDC_REDIRECT_URI": "https://console.example.invalid/oidc/callback",
            **env,
        }
    )


def test_development_sign_in_mints_a_token_the_services_accept():
    config = settings()
    claims = identity.development_claims(
        config, {"name": "王芳", "role": "reviewer", "org": "LY-XL"}
    )
    session = identity.Sessions(config).sign_in(claims)
    principal = decode_staff_token(session["token"], config.staff_jwt_secret)
    assert (principal.sub, principal.role, principal.org) == ("王芳", "reviewer", "LY-XL")


def test_development_sign_in_names_each_bad_field():
    with pytest.raises(identity.FieldErrors) as refused:
        identity.development_claims(settings(), {"name": "", "role": "root", "org": "LY-XX"})
    assert set(refused.value.fields) == {"name", "role", "org"}


def test_development_sign_in_is_refused_in_production():
    with pytest.raises(identity.SignInRefused):
        identity.development_claims(
            production(), {"name": "王芳", "role": "city_admin", "org": "LY"}
        )


def test_production_requires_real_secrets_and_an_identity_provider():
    with pytest.raises(ConfigError, match="CONSOLE_SESSION_SECRET"):
        production(CONSOLE_SESSION_SECRET="dev-only-console-session-secret-change-me")
    with pytest.raises(ConfigError, match="OIDC_ISSUER"):
        production(OIDC_ISSUER="")
    assert production().oidc_enabled


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        (
            {"sub": "u1", "preferred_username": "wangfang", "name": "王芳",
             "unionhub_role": "reviewer", "unionhub_org": "LY-XL"},
            {"sub": "wangfang", "name": "王芳", "role": "reviewer", "org": "LY-XL"},
        ),
        (
            {"sub": "u2", "unionhub_role": ["staff", "finance"], "unionhub_org": "LY"},
            {"sub": "u2", "name": "u2", "role": "finance", "org": "LY"},
        ),
    ],
)  # fmt: skip
def test_id_token_claims_become_a_role_and_an_org(claims, expected):
    assert identity.claims_from_id_token(settings(), claims) == expected


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "u", "unionhub_org": "LY"},  # no role
        {"sub": "u", "unionhub_role": "superuser", "unionhub_org": "LY"},  # not ours
        {"sub": "u", "unionhub_role": ["finance", "auditor"], "unionhub_org": "LY"},  # two
        {"sub": "u", "unionhub_role": "finance", "unionhub_org": "LY-QQ"},  # unknown org
        {"sub": "u", "unionhub_role": "finance"},  # no org
        {"sub": "", "unionhub_role": "finance", "unionhub_org": "LY"},  # nobody
    ],
)
def test_id_token_claims_without_one_known_role_and_org_are_refused(claims):
    with pytest.raises(identity.SignInRefused):
        identity.claims_from_id_token(settings(), claims)


def test_claim_names_are_configurable():
    config = settings(OIDC_ROLE_CLAIM="roles", OIDC_ORG_CLAIM="org_code")
    staff = identity.claims_from_id_token(
        config, {"sub": "u", "roles": ["auditor"], "org_code": "LY-SH"}
    )
    assert (staff["role"], staff["org"]) == ("auditor", "LY-SH")


@pytest.fixture(scope="module")
def idp_key():
    return RSAKey.generate_key(2048, parameters={"kid": "k1"})


def id_token(key, **overrides):
    now = int(time.time())
    claims = {
        "iss": ISSUER, "aud": "unionhub-console", "sub": "u1", "iat": now, "exp": now + 300,
        "nonce": "n-123", "unionhub_role": "auditor", "unionhub_org": "LY",
    }  # fmt: skip
    claims.update(overrides)
    return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)


def test_an_id_token_signed_by_the_provider_is_accepted(idp_key):
    jwks = {"keys": [idp_key.as_dict(private=False)]}
    claims = identity.verify_id_token(production(), id_token(idp_key), jwks, "n-123")
    assert identity.claims_from_id_token(production(), claims)["role"] == "auditor"


@pytest.mark.parametrize(
    "overrides",
    [
        {"iss": "https://evil.example.invalid"},
        {"aud": "another-client"},
        {"nonce": "replayed"},
        {"exp": int(time.time()) - 3600},
    ],
)
def test_an_id_token_for_someone_else_or_stale_is_refused(idp_key, overrides):
    jwks = {"keys": [idp_key.as_dict(private=False)]}
    with pytest.raises(identity.SignInRefused):
        identity.verify_id_token(production(), id_token(idp_key, **overrides), jwks, "n-123")


def test_an_id_token_signed_by_another_key_is_refused(idp_key):
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    jwks = {"keys": [idp_key.as_dict(private=False)]}
    with pytest.raises(identity.SignInRefused):
        identity.verify_id_token(production(), id_token(other), jwks, "n-123")


def test_sessions_are_signed_expire_and_are_forgotten_on_sign_out():
    config = settings(CONSOLE_SESSION_SECONDS="600")
    sessions = identity.Sessions(config)
    data = sessions.sign_in({"sub": "王芳", "role": "reviewer", "org": "LY-XL"})
    cookie = sessions.dump(data)
    assert sessions.load(cookie)["token"] == data["token"]
    # Tampered: an anonymous session, not the signed one.
    assert "token" not in sessions.load(cookie[:-2] + ("AA" if cookie[-2:] != "AA" else "BB"))
    # Expired.
    assert "token" not in sessions.load(cookie, now=time.time() + 601)
    # Signed out: the same cookie, replayed, no longer signs anyone in.
    sessions.forget(data)
    assert "token" not in sessions.load(cookie)
    options = sessions.cookie_options(data)
    assert options["httponly"] and options["samesite"] == "Lax" and options["max_age"] <= 600


def test_production_cookies_are_secure():
    options = identity.Sessions(production()).cookie_options({"exp": time.time() + 60})
    assert options["secure"]


def test_csrf_token_must_match_the_session():
    data = identity.Sessions(settings()).anonymous()
    assert identity.csrf_ok(data, data["csrf"])
    assert not identity.csrf_ok(data, "forged")
    assert not identity.csrf_ok(data, None)
