"""The federation's org tree (city root, counties, grassroots units) and scope checks over it."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

CONFIG_FILE = Path(__file__).resolve().parents[1] / "config" / "orgs.toml"
_SEGMENT = re.compile(r"[A-Z][A-Z0-9]*")


@dataclass(frozen=True)
class OrgTree:
    """The city root, its counties (code → name) and the digit count of a unit's last segment.

    Every question is answered by path segments (``LY-XL-0042`` is ``LY`` / ``XL`` / ``0042``),
    never by string prefix, and an unknown code is inside nothing and contains nothing: scope
    fails closed."""

    city: str
    counties: Mapping[str, str]
    unit_digits: int

    def __post_init__(self) -> None:
        if not _SEGMENT.fullmatch(self.city):
            raise ValueError(f"city root {self.city!r} must be one segment of A-Z and 0-9")
        for county in self.counties:
            parts = county.split("-")
            if len(parts) != 2 or parts[0] != self.city or not _SEGMENT.fullmatch(parts[1]):
                raise ValueError(f"county {county!r} must be {self.city}-<letters>")
        if self.unit_digits < 1:
            raise ValueError("unit_digits must be at least 1")

    def is_city_root(self, code: str | None) -> bool:
        return code == self.city

    def is_county(self, code: str | None) -> bool:
        return isinstance(code, str) and code in self.counties

    def is_unit(self, code: str | None) -> bool:
        """A grassroots unit: a known county, a dash and exactly ``unit_digits`` ASCII digits."""
        if not isinstance(code, str):
            return False
        county, _, number = code.rpartition("-")
        return (
            self.is_county(county)
            and len(number) == self.unit_digits
            and number.isascii()
            and number.isdigit()
        )

    def is_known(self, code: str | None) -> bool:
        return self.is_city_root(code) or self.is_county(code) or self.is_unit(code)

    def county_of(self, code: str | None) -> str | None:
        """The county a county or unit lies in (itself for a county); None for the root or an
        unknown code."""
        if self.is_county(code):
            return code
        if self.is_unit(code):
            return code.rpartition("-")[0]
        return None

    def contains(self, ancestor: str | None, code: str | None) -> bool:
        """True when ``code`` is ``ancestor`` or lies beneath it; False when either is unknown."""
        if not (self.is_known(ancestor) and self.is_known(code)):
            return False
        ancestor_parts, parts = ancestor.split("-"), code.split("-")
        return parts[: len(ancestor_parts)] == ancestor_parts

    def code_pattern(self, *, city: bool = False, county: bool = True, unit: bool = False) -> str:
        """The regular expression of the codes at the levels asked for, spelt from this tree
        (its root, its counties by name, its unit digits), so a contract states exactly the
        codes the tree knows: ``^LY-(CT|LC|...)(-[0-9]{4})?$`` for a county or unit."""
        if not (city or county or unit) or (unit and not county):
            raise ValueError(
                "ask for adjacent levels of the tree: city, county, unit (a unit lies in a county)"
            )
        counties = "|".join(re.escape(code.split("-")[1]) for code in sorted(self.counties))
        below = f"-[0-9]{{{self.unit_digits}}}"
        if county and unit:
            below = f"({below})?"
        elif not unit:
            below = ""
        tail = f"-({counties}){below}" if county else ""
        if city:
            tail = f"({tail})?" if tail else ""
        return f"^{re.escape(self.city)}{tail}$"

    def scope_filter(self, ancestor: str | None, field: str = "org") -> dict[str, Any]:
        """A Mongo filter on ``field`` for "``ancestor`` or beneath it": everything for the city
        root, the county and its units for a county, the unit itself for a unit, and nothing at
        all for an unknown code."""
        if self.is_city_root(ancestor):
            return {}
        if self.is_county(ancestor):
            # Anchored at both ends to the whole shape of the subtree, so LY-XL never matches
            # LY-XLX or LY-XL-00421.
            pattern = f"^{re.escape(ancestor)}(-[0-9]{{{self.unit_digits}}})?$"
            return {field: {"$regex": pattern}}
        if self.is_unit(ancestor):
            return {field: ancestor}
        return {field: {"$in": []}}


def load_tree(path: Path = CONFIG_FILE) -> OrgTree:
    """Read the org tree file; a missing key or malformed code stops with a sentence naming it."""
    with path.open("rb") as handle:
        document = tomllib.load(handle)
    try:
        counties = document["counties"]
        return OrgTree(
            city=document["city"],
            counties=MappingProxyType({str(code): str(name) for code, name in counties.items()}),
            unit_digits=int(document["unit_digits"]),
        )
    except KeyError as exc:
        raise ValueError(f"{path}: missing key {exc.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{path}: {exc}") from None


@cache
def tree() -> OrgTree:
    """The org tree of config/orgs.toml, read once per process."""
    return load_tree()


def city_root() -> str:
    return tree().city


def is_city_root(code: str | None) -> bool:
    return tree().is_city_root(code)


def is_known(code: str | None) -> bool:
    return tree().is_known(code)


def county_of(code: str | None) -> str | None:
    return tree().county_of(code)


def contains(ancestor: str | None, code: str | None) -> bool:
    return tree().contains(ancestor, code)


def scope_filter(ancestor: str | None, field: str = "org") -> dict[str, Any]:
    return tree().scope_filter(ancestor, field)


def code_pattern(*, city: bool = False, county: bool = True, unit: bool = False) -> str:
    return tree().code_pattern(city=city, county=county, unit=unit)
