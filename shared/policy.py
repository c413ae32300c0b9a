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

    def root(self) -> PolicyTable:
        return PolicyTable(self.content, self.source)


class PolicyTable:
    """Typed, checked access to a table of a policy document; every error names file and key."""

    def __init__(self, table: Mapping[str, Any], source: str, path: str = ""):
        self._table = table
        self.source = source
        self.path = path

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str | None, problem: str) -> PolicyError:
        return PolicyError(self.source, self.key_path(key) if key else self.path or None, problem)

    def keys(self) -> tuple[str, ...]:
        return tuple(self._table)

    def has(self, key: str) -> bool:
        return key in self._table

    def reject_unknown(self, allowed: Iterable[str]) -> None:
        """Refuse keys the reader does not know: a misspelt optional key must not be ignored."""
        known = tuple(allowed)
        unknown = sorted(set(self._table) - set(known))
        if unknown:
            raise self.error(unknown[0], f"is not a known key here (known: {', '.join(known)})")

    def _get(self, key: str) -> Any:
        if key not in self._table:
            raise self.error(key, "is missing")
        return self._table[key]

    def table(self, key: str) -> PolicyTable:
        value = self._get(key)
        if not isinstance(value, Mapping):
            raise self.error(key, f"must be a table, got {value!r}")
        return PolicyTable(value, self.source, self.key_path(key))

    def tables(self, key: str) -> tuple[PolicyTable, ...]:
        """An array of tables (``[[key]]``); absent means none."""
        value = self._table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
            raise self.error(key, "must be an array of tables ([[...]])")
        return tuple(
            PolicyTable(item, self.source, f"{self.key_path(key)}[{index}]")
            for index, item in enumerate(value)
        )

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be a non-empty string, got {value!r}")
        return value

    def flag(self, key: str, default: bool | None = None) -> bool:
        if default is not None and key not in self._table:
            return default
        value = self._get(key)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {value!r}")
        return value

    def integer(self, key: str, minimum: int | None = None, maximum: int | None = None) -> int:
        value = self._get(key)
        # bool is an int in Python; `true` where a number belongs is a typo, not a 1.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be a whole number, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"must be at most {maximum}, got {value}")
        return value

    def decimal(self, key: str) -> Decimal:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise self.error(key, f"must be a number, got {value!r}")
        number = Decimal(value)
        if not number.is_finite():
            raise self.error(key, f"must be a finite number, got {value}")
        return number

    def ratio(self, key: str) -> Decimal:
        number = self.decimal(key)
        if not Decimal(0) <= number <= Decimal(1):
            raise self.error(key, f"must be a ratio between 0 and 1, got {number}")
        return number

    def yuan(self, key: str) -> int:
        """A non-negative amount written in yuan (at most two decimals), returned in fen."""
        number = self.decimal(key)
        if number < 0:
            raise self.error(key, f"must not be negative, got {number}")
        if number != number.quantize(Decimal("0.01")):
            raise self.error(key, f"must have at most two decimals (fen), got {number}")
        return yuan_to_fen(number)

    def day(self, key: str) -> date:
        value = self._get(key)
        # A TOML local date-time parses to datetime, which is also a date; refuse it explicitly.
        if isinstance(value, datetime) or not isinstance(value, date):
            raise self.error(
                key, f"must be a TOML date such as 2018-01-01 (unquoted), got {value!r}"
            )
        return value


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
    root = PolicyTable(content, source)
    version = root.text("version")
    if not _VERSION.fullmatch(version):
        raise root.error("version", f'must look like "<service>/<name>", got {version!r}')
    return PolicyDocument(
        version=version,
        effective_from=root.day("effective_from"),
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
    "PolicyTable",
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
