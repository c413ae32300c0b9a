"""Versioned policy documents: TOML files per service, the version in force on a date, digests."""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validates
from marshmallow.error_store import SCHEMA

from shared.money import yuan_to_fen

_VERSION = re.compile(r"^(?P<service>[a-z][a-z0-9_]*)/[A-Za-z0-9][A-Za-z0-9._-]*$")


T = TypeVar("T")


class PolicyError(ValueError):
    """A policy file is missing, unreadable or breaks a rule; names the file and the key."""

    def __init__(self, source: str, key: str | None, problem: str):
        self.source = source
        self.key = key
        self.problem = problem
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class PolicyDocument:
    """One policy file as read: its version, the day it takes effect, its digest and content."""

    version: str
    effective_from: date
    digest: str
    source: str
    content: Mapping[str, Any] = field(repr=False, compare=False)

    def load(self, schema: Schema) -> dict[str, Any]:
        """The content checked and converted by ``schema``; a PolicyError names the first bad key."""
        return load_policy_content(schema, self.content, self.source)


def load_policy_content(schema: Schema, content: Mapping[str, Any], source: str) -> dict[str, Any]:
    try:
        return schema.load(content)
    except ValidationError as error:
        key, problem = _first_error(error.messages)
        raise PolicyError(source, key, problem) from None


def _first_error(messages: Any, path: str = "") -> tuple[str | None, str]:
    """(key path, message) of marshmallow's first error: ``plans.A.ratio``, ``exclusions[2].x``."""
    if isinstance(messages, list):
        if isinstance(messages[0], str):
            return path or None, messages[0]
        return _first_error(messages[0], path)
    key, inner = next(iter(messages.items()))
    if key == SCHEMA:  # a rule over the whole table: the table is the place
        return _first_error(inner, path)
    if isinstance(key, int):
        return _first_error(inner, f"{path}[{key}]")
    return _first_error(inner, f"{path}.{key}" if path else str(key))


# --- schemas of policy files --------------------------------------------------------------------


class PolicySchema(Schema):
    """Base of every policy file schema: unknown keys refused (a misspelt optional key must not
    be ignored), every listed key required unless it declares a default, messages for staff."""

    error_messages = {  # noqa: RUF012 - marshmallow's own class-level override
        "unknown": "is not a known key here",
        "type": "must be a table",
    }

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        field_obj.error_messages["required"] = "is missing"
        field_obj.error_messages["null"] = "is missing"


class Table(fields.Dict):
    """A TOML table of free keys (period numbers, plan codes, ...); an error sits under its
    key, whether the key or its value is wrong."""

    default_error_messages = {"invalid": "must be a table"}  # noqa: RUF012

    def __init__(self, *, empty: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.empty = empty  # the message when the table lists nothing, if that is an error

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            table = super()._deserialize(value, attr, data, **kwargs)
        except ValidationError as error:
            raise ValidationError(
                {k: v.get("key") or v["value"] for k, v in error.messages.items()}
            ) from None
        if self.empty and not table:
            raise ValidationError(self.empty)
        return table


class Tables(fields.List):
    """An array of tables (``[[key]]``)."""

    default_error_messages = {"invalid": "must be an array of tables ([[...]])"}  # noqa: RUF012


class Text(fields.Field):
    """A non-empty string, optionally one of ``choices``."""

    def __init__(self, choices: Iterable[str] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.choices = tuple(choices) if choices is not None else None

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(f"must be a non-empty string, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ValidationError(f"must be one of {', '.join(self.choices)}, got {value!r}")
        return value


class Flag(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        if not isinstance(value, bool):
            raise ValidationError(f"must be true or false, got {value!r}")
        return value


class WholeNumber(fields.Field):
    def __init__(self, minimum: int | None = None, maximum: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.minimum, self.maximum = minimum, maximum

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        # bool is an int in Python; `true` where a number belongs is a typo, not a 1.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"must be a whole number, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ValidationError(f"must be at least {self.minimum}, got {value}")
        if self.maximum is not None and value > self.maximum:
            raise ValidationError(f"must be at most {self.maximum}, got {value}")
        return value


class Number(fields.Field):
    """An exact number: a TOML integer or float (read as Decimal), never a string."""

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise ValidationError(f"must be a number, got {value!r}")
        number = Decimal(value)
        if not number.is_finite():
            raise ValidationError(f"must be a finite number, got {value}")
        return number


class Ratio(Number):
    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        number = super()._deserialize(value, attr, data, **kwargs)
        if not Decimal(0) <= number <= Decimal(1):
            raise ValidationError(f"must be a ratio between 0 and 1, got {number}")
        return number


class Yuan(Number):
    """A non-negative amount written in yuan (at most two decimals), loaded in fen."""

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        number = super()._deserialize(value, attr, data, **kwargs)
        if number < 0:
            raise ValidationError(f"must not be negative, got {number}")
        if number != number.quantize(Decimal("0.01")):
            raise ValidationError(f"must have at most two decimals (fen), got {number}")
        return yuan_to_fen(number)


class Day(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs) -> date:
        # A TOML local date-time parses to datetime, which is also a date; refuse it explicitly.
        if isinstance(value, datetime) or not isinstance(value, date):
            raise ValidationError(
                f"must be a TOML date such as 2018-01-01 (unquoted), got {value!r}"
            )
        return value


class NumberKey(fields.Field):
    """A table key that is a whole number written in ASCII digits (a period, a year, a level)."""

    def __init__(self, what: str, **kwargs):
        super().__init__(**kwargs)
        self.what = what

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        if not (value.isascii() and value.isdigit()):
            raise ValidationError(f"must be a {self.what} (a whole number)")
        return int(value)


class PatternKey(fields.Field):
    """A table key that must match ``pattern`` (plan codes, ICD-10 categories)."""

    def __init__(self, pattern: str, message: str, **kwargs):
        super().__init__(**kwargs)
        self.pattern, self.message = re.compile(pattern), message

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        if not self.pattern.fullmatch(value):
            raise ValidationError(self.message)
        return value


class Version(Text):
    def _deserialize(self, value, attr, data, **kwargs) -> str:
        version = super()._deserialize(value, attr, data, **kwargs)
        if not _VERSION.fullmatch(version):
            raise ValidationError(f'must look like "<service>/<name>", got {version!r}')
        return version


class PolicyHeaderSchema(PolicySchema):
    """What every policy file starts with; the service's own schema checks the rest."""

    class Meta:
        unknown = EXCLUDE

    version = Version(required=True)
    effective_from = Day(required=True)


def versioned_schema(service: str) -> type[PolicySchema]:
    """A base for ``service``'s policy schema: the header, its version belonging to ``service``."""

    class ServicePolicySchema(PolicyHeaderSchema):
        class Meta:
            unknown = RAISE

        @validates("version")
        def _of_this_service(self, value: str, data_key: str) -> None:
            if service_of(value) != service:
                raise ValidationError(f'must start with "{service}/", got {value!r}')

    return ServicePolicySchema


def read_policy(path: str | Path) -> PolicyDocument:
    """Read one policy file: parse it, check ``version`` and ``effective_from``, digest its bytes."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise PolicyError(source, None, f"cannot be read ({exc.strerror or exc})") from exc
    return parse_policy(raw, source)


def parse_policy(raw: bytes, source: str) -> PolicyDocument:
    """Parse a policy's bytes (a file, or a staff upload) the same way, digest included, so a
    file and its upload share one digest."""
    try:
        # Decimal for every TOML float: ratios and amounts must never pass through binary floats.
        content = tomllib.loads(raw.decode("utf-8"), parse_float=Decimal)
    except UnicodeDecodeError as exc:
        raise PolicyError(source, None, "is not UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, None, f"is not valid TOML ({exc})") from exc
    header = load_policy_content(PolicyHeaderSchema(), content, source)
    return PolicyDocument(
        version=header["version"],
        effective_from=header["effective_from"],
        digest="sha256:" + hashlib.sha256(raw).hexdigest(),
        source=source,
        content=content,
    )


def load_policy_document(path: str | Path) -> dict[str, Any]:
    """The parsed content of one policy file, after checking ``version`` and ``effective_from``."""
    return dict(read_policy(path).content)


def service_of(version: str) -> str:
    """The service a version name belongs to: ``"mutual_aid/2018-v1"`` → ``"mutual_aid"``."""
    return version.split("/", 1)[0]


class PolicyStore:
    """Every version of one service's policy, read from ``<directory>/*.toml`` and checked at once."""

    def __init__(self, directory: str | Path, service: str | None = None):
        self.directory = Path(directory)
        self.service = service or self.directory.name
        if not self.directory.is_dir():
            raise PolicyError(str(self.directory), None, "is not a policy directory")
        documents = [read_policy(path) for path in sorted(self.directory.glob("*.toml"))]
        if not documents:
            raise PolicyError(str(self.directory), None, "holds no policy file (*.toml)")
        by_version: dict[str, PolicyDocument] = {}
        by_day: dict[date, PolicyDocument] = {}
        for document in documents:
            if service_of(document.version) != self.service:
                raise PolicyError(
                    document.source,
                    "version",
                    f'must start with "{self.service}/", got {document.version!r}',
                )
            if document.version in by_version:
                raise PolicyError(
                    document.source,
                    "version",
                    f"{document.version!r} is also used by {by_version[document.version].source}",
                )
            # Two versions starting the same day would make "the version in force" a coin toss.
            if document.effective_from in by_day:
                raise PolicyError(
                    document.source,
                    "effective_from",
                    f"{document.effective_from} is also the start of "
                    f"{by_day[document.effective_from].source}",
                )
            by_version[document.version] = document
            by_day[document.effective_from] = document
        self._by_version = by_version
        self._versions = tuple(sorted(documents, key=lambda d: d.effective_from))

    @classmethod
    def for_service(cls, policy_root: str | Path, service: str) -> PolicyStore:
        """The store under ``<policy_root>/<service>/``, e.g. ``config/policy/mutual_aid``."""
        return cls(Path(policy_root) / service, service)

    def versions(self) -> tuple[PolicyDocument, ...]:
        """All versions, oldest ``effective_from`` first."""
        return self._versions

    def by_version(self, version: str) -> PolicyDocument:
        try:
            return self._by_version[version]
        except KeyError:
            known = ", ".join(self._by_version)
            raise PolicyError(
                str(self.directory), None, f"has no version {version!r} (known: {known})"
            ) from None

    def in_force_on(self, day: date) -> PolicyDocument:
        """The version with the latest ``effective_from`` on or before ``day``."""
        in_force = [d for d in self._versions if d.effective_from <= day]
        if not in_force:
            first = self._versions[0]
            raise PolicyError(
                str(self.directory),
                None,
                f"has no version in force on {day} (the first, {first.version}, "
                f"takes effect {first.effective_from})",
            )
        return in_force[-1]


__all__ = [
    "PolicyDocument",
    "PolicyError",
    "PolicyStore",
    "load_policy_document",
    "read_policy",
    "service_of",
]


@lru_cache(maxsize=8)
def policy_store(policy_dir: str, service: str) -> PolicyStore:
    """A service's policy files, read once per process (a new file needs a restart)."""
    return PolicyStore.for_service(Path(policy_dir), service)


@lru_cache(maxsize=64)
def _parsed(policy_dir: str, service: str, version: str, parse: Callable[[PolicyDocument], T]) -> T:
    return parse(policy_store(policy_dir, service).by_version(version))


def policy_in_force(
    policy_dir: str, service: str, day: date, parse: Callable[[PolicyDocument], T]
) -> T:
    """The version in force on ``day`` (the earliest one for days before any), parsed once."""
    store = policy_store(policy_dir, service)
    try:
        document = store.in_force_on(day)
    except PolicyError:
        document = store.versions()[0]
    return _parsed(policy_dir, service, document.version, parse)
