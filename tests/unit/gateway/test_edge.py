"""The gateway's RPC call: what a caller hears when a service or its store does not answer."""

from types import SimpleNamespace

import pytest
from nameko.exceptions import RemoteError

from services.gateway.edge import Edge
from shared.errors import ApiError


class Failing:
    def __init__(self, exc_type: str):
        self.exc_type = exc_type

    def register_at_fair(self, *args):
        raise RemoteError(self.exc_type, "127.0.0.1:27017: connection pool paused")


def edge_with(service) -> Edge:
    edge = Edge.__new__(Edge)  # no nameko container: _call needs only its settings and proxy
    edge.__dict__["settings"] = SimpleNamespace(rpc_timeout_seconds=5)
    edge.__dict__["jobs"] = service
    return edge


@pytest.mark.parametrize("kind", ["AutoReconnect", "_OperationCancelled", "NetworkTimeout"])
def test_a_service_whose_store_did_not_answer_is_a_503_not_a_500(kind):
    with pytest.raises(ApiError) as refused:
        edge_with(Failing(kind))._call("jobs", "register_at_fair", "token", "F1", {})
    assert (refused.value.status, refused.value.code) == (503, "service_unavailable")
    assert "the jobs service's store did not answer" in refused.value.message


def test_any_other_remote_error_still_goes_up_as_itself():
    with pytest.raises(RemoteError):
        edge_with(Failing("KeyError"))._call("jobs", "register_at_fair", "token", "F1", {})
