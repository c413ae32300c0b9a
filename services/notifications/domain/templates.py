"""Message texts per event (zh-CN), read from the versioned template files under
``config/notifications/templates/``. They never name a diagnosis, a hardship status or its
cause, or an amount of hardship aid: they say something happened and where to look. A
mutual-aid amount may appear in the inbox text only. The loader refuses a file that breaks
these rules, naming the entry."""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from shared.money import format_fen

TEMPLATE_DIR = Path(__file__).resolve().parents[3] / "config" / "notifications" / "templates"
CHANNELS = ("inbox", "sms", "wechat")
PUSH_CHANNELS = ("sms", "wechat")
DEFAULT_VARIANT = "default"
# Only mutual aid's own money may be named, and only in the inbox (DOMAIN.md §5).
AMOUNT_PRODUCERS = frozenset({"mutual_aid"})
COMMON_PLACEHOLDERS = frozenset({"signature", "portal", "reference"})
# Words that tell a hardship status, its cause or a diagnosis: no text may hold one.
FORBIDDEN_WORDS = (
    "困难",
    "低保",
    "特困",
    "贫困",
    "帮扶",
    "救助",
    "疾病",
    "诊断",
    "病情",
    "残疾",
    "失业",
    "下岗",
    "建档",
    "全国级",
    "省级",
    "市级",
    "国家级",
    "欺诈",
)
DIAGNOSIS_CODE = re.compile(r"[A-Z][0-9]{2}\.[0-9]")


class NoTemplate(LookupError):
    """No entry for this event type (a wiring mistake: the service listens to it)."""


class TemplateError(ValueError):
    """A template file breaks a rule; names the file and the entry."""


@dataclass(frozen=True)
class Notice:
    recipient: str  # the worker's ID-number lookup hash; never the number itself
    org: str | None  # who may read the notice; None when the event carried none
    ref: str  # the business object the notice is about
    texts: Mapping[str, str]  # channel -> text
    version: str  # the template file's version

    @property
    def inbox_text(self) -> str:
        return self.texts["inbox"]

    @property
    def sms_text(self) -> str:
        return self.texts["sms"]

    @property
    def wechat_text(self) -> str:
        return self.texts["wechat"]


@dataclass(frozen=True)
class Entry:
    key: str  # "<producer>.<event_type>"
    recipient: str
    org: tuple[str, ...]
    ref: str
    variant: str | None
    amount_field: str | None
    fields: tuple[str, ...]
    texts: Mapping[str, Mapping[str, str]]  # variant -> channel -> format string


@dataclass(frozen=True)
class TemplateSet:
    version: str
    signature: str
    portal: str
    entries: Mapping[str, Entry]

    def render(self, producer: str, event_type: str, payload: Mapping[str, Any]) -> Notice | None:
        """The notice for this event, or None when its variant tells nobody (a grant that is
        not a condolence). An event type without an entry is NoTemplate."""
        key = f"{producer}.{event_type}"
        entry = self.entries.get(key)
        if entry is None:
            raise NoTemplate(f"no notification template for {key}")
        variant = str(payload[entry.variant]) if entry.variant else DEFAULT_VARIANT
        texts = entry.texts.get(variant)
        if texts is None:
            return None
        ref = str(payload[entry.ref])
        facts = {
            "signature": self.signature,
            "portal": self.portal,
            "reference": ref[:8].upper(),
            **{name: str(payload[name]) for name in entry.fields},
        }
        if entry.amount_field is not None:
            facts["amount"] = format_fen(int(payload[entry.amount_field]))
        org = next((payload[f] for f in entry.org if payload.get(f)), None)
        return Notice(
            recipient=str(payload[entry.recipient]),
            org=org,
            ref=ref,
            texts=MappingProxyType({c: texts[c].format(**facts) for c in CHANNELS}),
            version=self.version,
        )

    def event_keys(self) -> tuple[str, ...]:
        return tuple(self.entries)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def minimisation_problems(text: str) -> list[str]:
    """What a rendered or raw text says that it must not (empty when it is fine)."""
    problems = [f"names {word!r}" for word in FORBIDDEN_WORDS if word in text]
    if DIAGNOSIS_CODE.search(text):
        problems.append("holds a diagnosis code")
    return problems


def parse_templates(content: Mapping[str, Any], source: str) -> TemplateSet:
    """Check a template file's content: every rule of content minimisation, every placeholder
    known, three channels per variant."""

    def fail(where: str, problem: str) -> TemplateError:
        return TemplateError(f"{source}: {where}: {problem}")

    version = content.get("version")
    if not isinstance(version, str) or not version.startswith("notifications-templates/"):
        raise fail("version", 'must look like "notifications-templates/<name>"')
    for key in ("signature", "portal"):
        if not isinstance(content.get(key), str) or not content[key]:
            raise fail(key, "must be a non-empty string")
    entries: dict[str, Entry] = {}
    for key, raw in (content.get("events") or {}).items():
        producer = key.split(".", 1)[0]
        known = {"recipient", "org", "ref", "variant", "amount_field", "fields", "texts"}
        unknown = set(raw) - known
        if unknown:
            raise fail(f"events.{key}", f"unknown keys {sorted(unknown)}")
        amount_field = raw.get("amount_field")
        if amount_field is not None and producer not in AMOUNT_PRODUCERS:
            raise fail(f"events.{key}.amount_field", "only a mutual-aid amount may be named")
        fields = tuple(raw.get("fields", ()))
        allowed = COMMON_PLACEHOLDERS | set(fields)
        texts: dict[str, dict[str, str]] = {}
        for variant, by_channel in (raw.get("texts") or {}).items():
            where = f"events.{key}.texts.{variant}"
            if set(by_channel) != set(CHANNELS):
                raise fail(where, f"needs exactly {list(CHANNELS)}")
            for channel, text in by_channel.items():
                used = placeholders(text)
                may_use = allowed | ({"amount"} if channel == "inbox" and amount_field else set())
                if used - may_use:
                    raise fail(
                        f"{where}.{channel}", f"unknown or forbidden {sorted(used - may_use)}"
                    )
                problems = minimisation_problems(text)
                if problems:
                    raise fail(f"{where}.{channel}", "; ".join(problems))
            texts[variant] = MappingProxyType(dict(by_channel))
        if not texts:
            raise fail(f"events.{key}.texts", "needs at least one variant")
        if raw.get("variant") is None and set(texts) != {DEFAULT_VARIANT}:
            raise fail(f"events.{key}.texts", f"without a variant field only {DEFAULT_VARIANT!r}")
        entries[key] = Entry(
            key=key,
            recipient=raw["recipient"],
            org=tuple(raw.get("org", ())),
            ref=raw["ref"],
            variant=raw.get("variant"),
            amount_field=amount_field,
            fields=fields,
            texts=MappingProxyType(texts),
        )
    return TemplateSet(
        version=version,
        signature=content["signature"],
        portal=content["portal"],
        entries=MappingProxyType(entries),
    )


def read_templates(path: str | Path) -> TemplateSet:
    source = str(path)
    try:
        content = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TemplateError(f"{source}: cannot be read ({exc})") from exc
    return parse_templates(content, source)


@lru_cache(maxsize=4)
def current_templates(directory: str = str(TEMPLATE_DIR)) -> TemplateSet:
    """The newest template file (by name, e.g. ``2026-v1.toml``), read once per process."""
    files = sorted(Path(directory).glob("*.toml"))
    if not files:
        raise TemplateError(f"{directory}: holds no template file (*.toml)")
    return read_templates(files[-1])


def render(producer: str, event_type: str, payload: Mapping[str, Any]) -> Notice | None:
    return current_templates().render(producer, event_type, payload)
