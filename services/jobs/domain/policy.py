"""The jobs policy: one checked version of the match weights, boosts, follow-up days and
synonyms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from marshmallow import ValidationError, fields, validates

from services.jobs.domain.normalise import basic_form
from shared.policy import (
    PolicyDocument,
    PolicyError,
    PolicySchema,
    Text,
    WholeNumber,
    versioned_schema,
)

SERVICE = "jobs"


@dataclass(frozen=True)
class JobsPolicy:
    version: str
    effective_from: date
    digest: str
    follow_up_days: tuple[int, ...]
    skills_weight: int
    occupation_weight: int
    experience_weight: int
    hardship_boost: int
    migrant_boost: int
    # variant (basic form) → the name a match uses (basic form)
    synonyms: Mapping[str, str]

    @classmethod
    def from_document(cls, document: PolicyDocument) -> JobsPolicy:
        data = document.load(JobsPolicySchema())
        canonical: dict[str, str] = {}
        for name, variants in data["synonyms"].items():
            head = basic_form(name)
            for variant in [name, *variants]:
                form = basic_form(variant)
                if canonical.get(form, head) != head:
                    raise PolicyError(
                        document.source, f"synonyms.{name}", f"{variant} is listed under two names"
                    )
                canonical[form] = head
        weights, boosts = data["weights"], data["boosts"]
        return cls(
            version=document.version,
            effective_from=document.effective_from,
            digest=document.digest,
            follow_up_days=tuple(sorted(data["follow_up_days"])),
            skills_weight=weights["skills"],
            occupation_weight=weights["occupation"],
            experience_weight=weights["experience"],
            hardship_boost=boosts["hardship"],
            migrant_boost=boosts["migrant"],
            synonyms=MappingProxyType(canonical),
        )


class _WeightsSchema(PolicySchema):
    skills = WholeNumber(minimum=0, maximum=1000, required=True)
    occupation = WholeNumber(minimum=0, maximum=1000, required=True)
    experience = WholeNumber(minimum=0, maximum=1000, required=True)


class _BoostsSchema(PolicySchema):
    hardship = WholeNumber(minimum=0, maximum=1000, required=True)
    migrant = WholeNumber(minimum=0, maximum=1000, required=True)


class JobsPolicySchema(versioned_schema(SERVICE)):
    follow_up_days = fields.List(WholeNumber(minimum=1, maximum=366), required=True)
    weights = fields.Nested(_WeightsSchema, required=True)
    boosts = fields.Nested(_BoostsSchema, required=True)
    synonyms = fields.Dict(
        keys=fields.String(),
        values=fields.List(Text()),
        required=True,
    )

    @validates("follow_up_days")
    def _thirty_and_ninety(self, value, data_key):
        # The API records follow-ups on days 30 and 90 (API.md): a policy cannot move them.
        if sorted(value) != [30, 90]:
            raise ValidationError("must be [30, 90]: the days API.md records follow-ups on")
