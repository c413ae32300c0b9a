"""The gateway's route mixins: each endpoint a handler of its own."""

import inspect

from services.gateway import service as gateway_service
from services.gateway.service import GatewayService


def test_no_two_route_mixins_name_a_handler_alike():
    # A handler name taken by two mixins keeps only one of them: the other endpoint is a 404.
    owners: dict[str, list[str]] = {}
    for mixin in GatewayService.__mro__[1:]:
        if mixin.__module__.startswith("services.gateway.routes."):
            for name, member in vars(mixin).items():
                if inspect.isfunction(member) and not name.startswith("_"):
                    owners.setdefault(name, []).append(mixin.__name__)

    assert {name: found for name, found in owners.items() if len(found) > 1} == {}
    assert gateway_service.StudentAidRoutes in GatewayService.__mro__
