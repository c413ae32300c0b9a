"""The registry of event payload schemas, keyed by (event_type, version)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema

CATALOGUE: dict[tuple[str, int], type[Schema]] = {}


class Payload(Schema):
    class Meta:
        unknown = EXCLUDE  # consumers ignore fields added by a newer producer


def register(event_type: str, version: int):
    """Class decorator: the schema of ``event_type`` at ``version``. A breaking change is a
    new version registered beside the old one while consumers move."""

    def decorate(schema: type[Schema]) -> type[Schema]:
        key = (event_type, version)
        if key in CATALOGUE:
            raise ValueError(f"{event_type} v{version} is registered twice")
        CATALOGUE[key] = schema
        return schema

    return decorate
