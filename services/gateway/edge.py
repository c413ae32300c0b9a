"""What every gateway endpoint stands on: the store, settings, correlation ids, RPC with deadlines,
staff bearer tokens and signed webhooks."""

from __future__ import annotations

import inspect

import eventlet
import pymongo.errors
from nameko.exceptions import RemoteError, UnknownService

from services.gateway.http import PARTNER_HEADER, read_body
from services.gateway.schemas import is_partner_code
from services.gateway.store import GatewayStore
from shared.auth import AuthError, StaffPrincipal, bearer_token, require, verify_staff_token
from shared.errors import ApiError
from shared.providers import Correlation, SettingsProvider, Store
from shared.webhooks import (
    INVALID_SIGNATURE,
    WebhookVerificationError,
    check_webhook_headers,
    verify_webhook,
)

# A service whose store did not answer (pymongo's ConnectionFailure and its kinds, named as they
# cross the bus): the caller may try again, as for a service that is down. Not a 500.
STORE_UNREACHABLE = frozenset(
    name
    for name, kind in vars(pymongo.errors).items()
    if inspect.isclass(kind) and issubclass(kind, pymongo.errors.ConnectionFailure)
)

# Each unnamed city-platform request costs one HMAC per registered platform: keep it bounded.
MAX_CITY_PLATFORMS = 4


class Edge:
    """Base of the route mixins; the RPC proxies themselves are declared by each mixin."""

    store: GatewayStore = Store(GatewayStore)
    settings = SettingsProvider()
    correlation_id = Correlation()
    backends: tuple[str, ...] = ()  # the services behind the gateway; set by GatewayService

    def _call(self, service: str, method: str, *args, timeout: float | None = None, **kwargs):
        """An RPC call with a deadline: a service that is down or slow is a 503, never a hang."""
        seconds = timeout or self.settings.rpc_timeout_seconds
        try:
            with eventlet.Timeout(seconds):
                return getattr(getattr(self, service), method)(*args, **kwargs)
        except eventlet.Timeout:
            raise ApiError(
                503, "service_unavailable", f"{service} did not answer in {seconds:g} s."
            ) from None
        except UnknownService:
            raise ApiError(503, "service_unavailable", f"{service} is not running.") from None
        except RemoteError as error:
            if error.exc_type in STORE_UNREACHABLE:
                raise ApiError(
                    503,
                    "service_unavailable",
                    f"the {service} service's store did not answer; try again.",
                ) from None
            raise

    def _staff(self, request) -> str:
        """The caller's staff token, verified here too so a bad one never costs an RPC. It is
        what the gateway forwards: the service owning the action verifies it again rather than
        trust the bus, and it alone judges the role (shared/contracts/roles.py), beside the org
        scope only it can judge."""
        return self._caller(request)[0]

    def _caller(self, request, action: str | None = None) -> tuple[str, StaffPrincipal]:
        """The verified token and its principal; ``action`` names one of the gateway's own
        (its partners), judged by the same table as every other."""
        try:
            token = bearer_token(request.headers.get("Authorization"))
            principal = verify_staff_token(token, self.settings)
        except AuthError as exc:
            raise ApiError(401, "unauthorized", str(exc)) from None
        if action is not None:
            require(principal, action)
        return token, principal

    def _city_platform(self, request) -> tuple[dict, str]:
        """The city platform that signed a request to its shared routes, whose paths name no
        partner (API.md): the one named in PARTNER_HEADER when the request names one, else the
        registered city platform whose secret verifies the signature (the city has one or two;
        at most MAX_CITY_PLATFORMS are tried)."""
        code = request.headers.get(PARTNER_HEADER)
        if code is not None:
            return self._partner(request, code, "city_platform")
        try:
            check_webhook_headers(request.headers)
            body = read_body(request)
            for candidate in self.store.codes_of_kind("city_platform", MAX_CITY_PLATFORMS):
                partner = self.store.partner(candidate)
                try:
                    return partner, verify_webhook(partner["secret"], request.headers, body)
                except WebhookVerificationError:
                    continue
            raise WebhookVerificationError(INVALID_SIGNATURE)
        except WebhookVerificationError as exc:
            raise ApiError(401, "invalid_signature", f"Webhook rejected: {exc.reason}.") from None

    def _partner(self, request, code: str, kind: str) -> tuple[dict, str]:
        # In the order of their cost, nothing read or looked up before it is needed; an unknown
        # partner and a wrong signature get the same answer, so codes cannot be enumerated.
        try:
            check_webhook_headers(request.headers)
        except WebhookVerificationError as exc:
            raise ApiError(401, "invalid_signature", f"Webhook rejected: {exc.reason}.") from None
        partner = self.store.partner(code) if is_partner_code(code) else None
        try:
            if partner is None or partner["kind"] != kind:
                raise WebhookVerificationError(INVALID_SIGNATURE)
            webhook_id = verify_webhook(partner["secret"], request.headers, read_body(request))
        except WebhookVerificationError as exc:
            raise ApiError(401, "invalid_signature", f"Webhook rejected: {exc.reason}.") from None
        return partner, webhook_id
