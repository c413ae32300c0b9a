"""The RPC entrypoint every service uses: arguments checked against the method's types."""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

from kombu import Queue
from nameko.exceptions import IncorrectSignature
from nameko.rpc import Rpc, RpcConsumer

from shared.errors import ApiError, validation_error
from shared.providers import settings_of
from shared.retry_routes import queue_arguments

CREDENTIALS = ("principal", "partner")  # RPC parameters that carry who is calling


def _conforms(value: object, hint: object) -> bool:
    if hint is Any:
        return True
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_conforms(value, option) for option in typing.get_args(hint))
    kind = typing.get_origin(hint) or hint
    if kind is type(None):
        return value is None
    # JSON has no separate booleans and integers in Python: True must not pass for a period.
    return isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))


class TypedRpcConsumer(RpcConsumer):
    """nameko's one RPC queue per service (``rpc-<service>``), declared with the settings'
    queue type: a quorum queue on a clustered broker. (Reply queues stay nameko's: exclusive to
    the caller's connection, they cannot be quorum queues and hold nothing worth replicating.)"""

    def setup(self):
        if self.queue is None:
            super().setup()
            arguments = queue_arguments(settings_of(self.container).queue_type)
            if arguments:
                queue = self.queue
                self.queue = Queue(
                    queue.name,
                    exchange=queue.exchange,
                    routing_key=queue.routing_key,
                    durable=True,
                    queue_arguments=arguments,
                )


class TypedRpc(Rpc):
    """An RPC entrypoint that refuses, before any work, an argument of another type than the
    method declares: whoever reaches the broker cannot slip a Mongo operator
    (``{"$ne": null}``) where an id, a period or a filter value is expected. Request bodies
    (``dict``) are checked by the method's own schema; the caller's credential (``principal``,
    ``partner``) by shared.auth (a 401, not a 400)."""

    rpc_consumer = TypedRpcConsumer()

    def setup(self):
        super().setup()
        method = getattr(self.container.service_cls, self.method_name)
        self.signature = inspect.signature(method)
        self.hints = typing.get_type_hints(method)

    def check_signature(self, args, kwargs):
        super().check_signature(args, kwargs)
        try:
            arguments = self.signature.bind(None, *args, **kwargs).arguments
        except TypeError as exc:
            # nameko checked the method as it is on the class: a door method wrapped by
            # shared.errors.answering takes anything, so the declared signature is checked here.
            raise IncorrectSignature(str(exc)) from None
        wrong = {
            name: [f"must be {self.hints[name]}"]
            for name, value in arguments.items()
            if name in self.hints
            and name not in CREDENTIALS
            and not _conforms(value, self.hints[name])
        }
        if wrong:
            raise validation_error(wrong, "An RPC argument has the wrong type.")


# The RPC entrypoint every service uses: an ApiError is the answer to a bad request, so nameko
# treats it as expected (and our log filter keeps it out of the error log).
rpc = TypedRpc.decorator(expected_exceptions=(ApiError,))
