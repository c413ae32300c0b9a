"""Rules of staff tokens: HS256 only, required claims, expiry, org subtrees, roles, the CLI."""

import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from shared.auth import (
    ROLES,
    AuthError,
    StaffPrincipal,
    authorized,
    bearer_token,
    decode_staff_token,
    main,
    may,
    mint_staff_token,
)
from shared.config import DEVELOPMENT_SECRETS
from shared.errors import ApiError
from tests.support.principals import staff

SECRET = "s" * 32
OTHER_SECRET = "t" * 32
NOW = 1_780_000_000
REPOSITORY_ROOT = Path(__file__).resolve().parents[3]


def _signed(claims: dict, *, secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def _claims(**overrides) -> dict:
    claims = {
        "sub": "staff-7",
        "role": "county_staff",
        "org": "LY-XL",
        "iss": "unionhub",
        "aud": "unionhub-staff",
        "iat": NOW - 60,
        "exp": NOW + 60,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def _auth_error(token: str, *, now: float = NOW) -> str:
    with pytest.raises(AuthError) as caught:
        decode_staff_token(token, SECRET, now=now)
    return str(caught.value)


def test_minted_token_decodes_to_the_same_principal():
    token = mint_staff_token(SECRET, sub="staff-7", role="finance", org="LY-XL", now=NOW)

    assert decode_staff_token(token, SECRET, now=NOW) == StaffPrincipal(
        sub="staff-7", role="finance", org="LY-XL"
    )


def test_minted_token_carries_claims_and_expires_after_the_ttl():
    token = mint_staff_token(
        SECRET, sub="staff-7", role="auditor", org="LY", ttl_seconds=600, now=NOW
    )

    claims = jwt.decode(
        token,
        SECRET,
        algorithms=["HS256"],
        audience="unionhub-staff",
        options={"verify_exp": False},
    )
    assert claims == {
        "sub": "staff-7",
        "role": "auditor",
        "org": "LY",
        "iss": "unionhub",
        "aud": "unionhub-staff",
        "iat": NOW,
        "exp": NOW + 600,
    }
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_minted_token_lives_eight_hours_by_default():
    token = mint_staff_token(SECRET, sub="staff-7", role="auditor", org="LY", now=NOW)

    assert decode_staff_token(token, SECRET, now=NOW + 8 * 3600 - 1).role == "auditor"
    assert _auth_error(token, now=NOW + 8 * 3600) == "token has expired"


def test_token_is_accepted_until_the_second_before_exp():
    token = _signed(_claims(exp=NOW + 1))

    assert decode_staff_token(token, SECRET, now=NOW).sub == "staff-7"


def test_token_is_expired_at_exp():
    assert _auth_error(_signed(_claims(exp=NOW))) == "token has expired"


def test_token_is_checked_against_the_clock_by_default():
    with pytest.raises(AuthError, match="token has expired"):
        decode_staff_token(_signed(_claims(exp=NOW)), SECRET)


def test_token_not_valid_before_nbf_is_refused():
    assert _auth_error(_signed(_claims(nbf=NOW + 1))) == "token is not valid yet"


@pytest.mark.parametrize("claim", ["sub", "role", "org", "iss", "aud", "iat", "exp"])
def test_token_missing_a_required_claim_names_it(claim):
    token = _signed(_claims(**{claim: None}))

    assert _auth_error(token) == f"token is missing the '{claim}' claim"


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"exp": "soon"}, "'exp' must be a number"),
        ({"exp": [NOW + 60]}, "'exp' must be a number"),
        ({"exp": True}, "'exp' must be a number"),
        ({"exp": float("nan")}, "'exp' must be a number"),
        ({"exp": float("inf")}, "'exp' must be a number"),
        ({"iat": "then"}, "'iat' must be a number"),
        ({"nbf": "now"}, "'nbf' must be a number"),
        ({"sub": 7}, "'sub' must be a non-empty string"),
        ({"sub": ""}, "'sub' must be a non-empty string"),
        ({"role": ["city_admin"]}, "'role' must be a non-empty string"),
        ({"org": ""}, "'org' must be a non-empty string"),
        ({"org": "ly-xl"}, "'org' is not an org unit code"),
        ({"org": "LY-"}, "'org' is not an org unit code"),
    ],
)
def test_token_with_a_malformed_claim_is_refused(overrides, complaint):
    assert complaint in _auth_error(_signed(_claims(**overrides)))


def test_token_with_an_unknown_role_is_refused_naming_it():
    assert (
        _auth_error(_signed(_claims(role="superuser"))) == "token carries unknown role 'superuser'"
    )


def test_token_signed_with_another_secret_is_refused():
    assert _auth_error(_signed(_claims(), secret=OTHER_SECRET)) == "token signature is invalid"


def test_token_with_a_rewritten_payload_is_refused():
    header, _, signature = _signed(_claims()).split(".")
    _, elevated_payload, _ = _signed(_claims(role="city_admin", org="LY")).split(".")

    assert _auth_error(f"{header}.{elevated_payload}.{signature}") == "token signature is invalid"


def test_unsigned_alg_none_token_is_refused():
    unsigned = jwt.encode(_claims(role="city_admin", org="LY"), None, algorithm="none")

    assert "algorithm is not allowed" in _auth_error(unsigned)


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_token_signed_with_another_hmac_algorithm_is_refused(algorithm):
    assert "algorithm is not allowed" in _auth_error(_signed(_claims(), algorithm=algorithm))


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "a.b", 42])
def test_malformed_token_is_refused(token):
    assert _auth_error(token) == "token is malformed"


def test_token_with_an_audience_we_do_not_serve_is_refused():
    assert (
        _auth_error(_signed(_claims(aud="another-system")))
        == "token audience is not unionhub-staff"
    )


def test_token_from_another_issuer_is_refused():
    assert _auth_error(_signed(_claims(iss="another-idp"))) == "token issuer is not unionhub"


def test_token_with_the_configured_issuer_and_audience_is_accepted():
    token = mint_staff_token(
        SECRET, sub="s", role="auditor", org="LY", now=NOW, issuer="idp", audience="ops"
    )

    assert decode_staff_token(token, SECRET, now=NOW, issuer="idp", audience="ops").sub == "s"
    with pytest.raises(AuthError, match="audience"):
        decode_staff_token(token, SECRET, now=NOW, issuer="idp")


def test_token_living_longer_than_the_maximum_lifetime_is_refused():
    token = _signed(_claims(iat=NOW - 60, exp=NOW - 60 + 12 * 3600 + 1))

    assert _auth_error(token) == "token lifetime exceeds 43200 seconds"


def test_token_living_exactly_the_maximum_lifetime_is_accepted():
    token = _signed(_claims(iat=NOW - 60, exp=NOW - 60 + 12 * 3600))

    assert decode_staff_token(token, SECRET, now=NOW).sub == "staff-7"


def test_maximum_lifetime_is_a_setting():
    token = mint_staff_token(SECRET, sub="s", role="auditor", org="LY", ttl_seconds=600, now=NOW)

    with pytest.raises(AuthError, match="lifetime exceeds 300 seconds"):
        decode_staff_token(token, SECRET, now=NOW, max_lifetime_seconds=300)


@pytest.mark.parametrize("secret", ["", "s" * 31])
def test_a_secret_shorter_than_32_bytes_is_refused(secret):
    with pytest.raises(ValueError, match="STAFF_JWT_SECRET"):
        mint_staff_token(secret, sub="staff-7", role="auditor", org="LY")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        decode_staff_token(_signed(_claims()), secret)


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ({"sub": "", "role": "auditor", "org": "LY"}, "sub"),
        ({"sub": "x", "role": "superuser", "org": "LY"}, "unknown role 'superuser'"),
        ({"sub": "x", "role": "auditor", "org": "ly"}, "org unit code"),
        ({"sub": "x", "role": "auditor", "org": "LY", "ttl_seconds": 0}, "ttl_seconds"),
    ],
)
def test_mint_refuses_claims_that_decode_would_refuse(arguments, complaint):
    with pytest.raises(ValueError, match=complaint):
        mint_staff_token(SECRET, **arguments)


@pytest.mark.parametrize(
    ("staff_org", "target_org", "visible"),
    [
        ("LY", "LY", True),
        ("LY", "LY-XL", True),
        ("LY", "LY-XL-0042", True),
        ("LY-XL", "LY-XL", True),
        ("LY-XL", "LY-XL-0042", True),
        ("LY-XL", "LY-XLX", False),
        ("LY-XL", "LY-YD", False),
        ("LY-XL", "LY-YD-0042", False),
        ("LY-XL", "LY", False),
        ("LY-XL-0042", "LY-XL", False),
        ("LY-XL-0042", "LY-XL-00421", False),
        ("LY-XL", "", False),
    ],
)
def test_staff_see_their_own_org_subtree_only(staff_org, target_org, visible):
    principal = StaffPrincipal(sub="staff-7", role="county_staff", org=staff_org)

    assert principal.can_see(target_org) is visible


@pytest.mark.parametrize(
    ("staff_org", "target_org"),
    [("LY-ZZ", "LY-ZZ"), ("LY-ZZ", "LY-ZZ-0001"), ("XX", "XX"), ("XX", "XX-XL"), ("XX", "LY-XL")],
)
def test_an_org_outside_the_tree_sees_nothing_not_even_itself(staff_org, target_org):
    principal = StaffPrincipal(sub="staff-7", role="city_admin", org=staff_org)

    assert principal.can_see(target_org) is False


@pytest.mark.parametrize("org", ["LY-ZZ", "XX", "LY-XL-42"])
def test_a_principal_of_an_org_outside_the_tree_is_refused_whatever_its_role(org):
    with pytest.raises(ApiError) as refused:
        authorized(staff("city_admin", org), "dossiers.campaign")

    assert refused.value.status == 403


@pytest.mark.parametrize(
    "credential",
    [
        {"sub": "staff-7", "role": "city_admin", "org": "LY"},
        None,
        mint_staff_token(OTHER_SECRET, sub="staff-7", role="city_admin", org="LY"),
        staff("city_admin", now=NOW - 13 * 3600),
    ],
    ids=["claims-dict", "none", "forged", "expired"],
)
def test_a_forwarded_credential_that_is_not_a_valid_staff_token_is_refused(credential):
    with pytest.raises(ApiError) as refused:
        authorized(credential, "dossiers.campaign")

    assert (refused.value.status, refused.value.code) == (401, "unauthorized")


def test_a_forwarded_staff_token_is_verified_into_its_principal():
    assert authorized(staff("auditor", "LY-XL", "a-1"), "dossiers.audit_log") == StaffPrincipal(
        "a-1", "auditor", "LY-XL"
    )


def test_principal_is_immutable():
    principal = StaffPrincipal(sub="staff-7", role="county_staff", org="LY-XL")

    with pytest.raises(AttributeError):
        principal.org = "LY"


def test_principal_claims_are_sub_role_and_org():
    principal = StaffPrincipal(sub="staff-7", role="county_staff", org="LY-XL")

    assert principal.to_claims() == {"sub": "staff-7", "role": "county_staff", "org": "LY-XL"}


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc.def.ghi", "abc.def.ghi"), ("bearer abc", "abc"), ("BEARER  abc ", "abc")],
)
def test_bearer_token_is_read_from_the_authorization_header(header, token):
    assert bearer_token(header) == token


@pytest.mark.parametrize("header", [None, ""])
def test_missing_authorization_header_is_an_auth_error(header):
    with pytest.raises(AuthError, match="missing Authorization header"):
        bearer_token(header)


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwdw==", "Bearer", "Bearer a b", "abc", "Token abc"]
)
def test_authorization_header_of_another_shape_is_an_auth_error(header):
    with pytest.raises(AuthError, match="Bearer <token>"):
        bearer_token(header)


def test_a_role_the_table_allows_for_an_action_is_authorized():
    assert authorized(staff("finance", "LY"), "mutual_aid.payout").role == "finance"


def test_a_role_the_table_does_not_allow_for_an_action_is_forbidden():
    with pytest.raises(ApiError) as refused:
        authorized(staff("auditor", "LY"), "mutual_aid.review")

    assert (refused.value.status, refused.value.code) == (403, "forbidden")


def test_an_action_on_the_federations_money_below_the_city_org_is_forbidden():
    with pytest.raises(ApiError) as refused:
        authorized(staff("finance", "LY-XL"), "mutual_aid.payout_file")

    assert refused.value.status == 403
    assert refused.value.message == "only finance or auditor at the city org LY may do this"


def test_an_action_missing_from_the_table_fails_loudly_rather_than_refuse_or_grant():
    with pytest.raises(KeyError):
        may("city_admin", "mutual_aid.reveiw")


def test_roles_are_the_six_of_the_contract():
    assert ROLES == (
        "city_admin",
        "county_staff",
        "grassroots_staff",
        "finance",
        "reviewer",
        "auditor",
    )


def test_cli_mint_prints_a_token_signed_with_the_environment_secret(capsys):
    exit_code = main(["mint", "--role", "city_admin", "--org", "LY"], {"STAFF_JWT_SECRET": SECRET})

    token = capsys.readouterr().out.strip()
    assert exit_code == 0
    assert decode_staff_token(token, SECRET) == StaffPrincipal("dev-admin", "city_admin", "LY")


def test_cli_mint_honours_sub_and_ttl(capsys):
    arguments = ["mint", "--role", "reviewer", "--org", "LY-XL", "--sub", "r-1", "--ttl", "60"]

    main(arguments, {"STAFF_JWT_SECRET": SECRET})

    token = capsys.readouterr().out.strip()
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="unionhub-staff")
    assert (claims["sub"], claims["role"], claims["org"]) == ("r-1", "reviewer", "LY-XL")
    assert claims["exp"] - claims["iat"] == 60


def test_cli_mint_in_production_without_the_secret_names_the_variable(capsys):
    production = {
        "APP_ENV": "production",
        "AMQP_URI": "pyamqp://rabbit//",
        "MONGO_URI": "mongodb://m",
    }
    exit_code = main(["mint", "--role", "city_admin", "--org", "LY"], production)

    assert exit_code == 2
    assert "STAFF_JWT_SECRET is required" in capsys.readouterr().err


def test_cli_mint_in_development_signs_with_the_gateway_default(capsys):
    exit_code = main(["mint", "--role", "city_admin", "--org", "LY"], {})

    assert exit_code == 0
    token = capsys.readouterr().out.strip()
    secret = DEVELOPMENT_SECRETS["STAFF_JWT_SECRET"]
    assert decode_staff_token(token, secret) == StaffPrincipal("dev-admin", "city_admin", "LY")


def test_cli_mint_with_a_short_secret_says_why(capsys):
    exit_code = main(["mint", "--role", "city_admin", "--org", "LY"], {"STAFF_JWT_SECRET": "short"})

    assert exit_code == 2
    assert "STAFF_JWT_SECRET) must be at least 32 bytes" in capsys.readouterr().err


def test_cli_mint_refuses_a_ttl_beyond_the_maximum_lifetime(capsys):
    arguments = ["mint", "--role", "city_admin", "--org", "LY", "--ttl", str(12 * 3600 + 1)]

    assert main(arguments, {"STAFF_JWT_SECRET": SECRET}) == 2
    assert "exceeds JWT_MAX_LIFETIME_SECONDS" in capsys.readouterr().err


def test_cli_mint_signs_for_the_configured_issuer_and_audience(capsys):
    environment = {"STAFF_JWT_SECRET": SECRET, "JWT_ISSUER": "idp", "JWT_AUDIENCE": "ops"}

    assert main(["mint", "--role", "auditor", "--org", "LY"], environment) == 0
    token = capsys.readouterr().out.strip()
    assert decode_staff_token(token, SECRET, issuer="idp", audience="ops").role == "auditor"


def test_cli_mint_refuses_an_unknown_role():
    with pytest.raises(SystemExit) as caught:
        main(["mint", "--role", "root", "--org", "LY"], {"STAFF_JWT_SECRET": SECRET})

    assert caught.value.code == 2


def test_cli_runs_as_a_module():
    environment = {**os.environ, "STAFF_JWT_SECRET": SECRET}
    completed = subprocess.run(
        [sys.executable, "-m", "shared.auth", "mint", "--role", "auditor", "--org", "LY-CT"],
        cwd=REPOSITORY_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )

    claims = jwt.decode(
        completed.stdout.strip(), SECRET, algorithms=["HS256"], audience="unionhub-staff"
    )
    assert claims["org"] == "LY-CT"
