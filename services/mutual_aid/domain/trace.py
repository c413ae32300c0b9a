"""Decision trace lines whose diagnosis parts are marked: the rules write them whole, the store
seals the marked parts at rest, and each reader sees them or a mask according to role."""

from __future__ import annotations

from dataclasses import dataclass

DIAGNOSIS_HIDDEN = "[diagnosis hidden]"


@dataclass(frozen=True)
class Diagnosis:
    """A part of a trace line that tells the patient's illness: an ICD code, the exclusion
    range it fell in and its reason, a single-disease entry."""

    text: str


@dataclass(frozen=True)
class TraceLine:
    parts: tuple[str | Diagnosis, ...]

    @classmethod
    def of(cls, *parts: str | Diagnosis) -> TraceLine:
        return cls(tuple(parts))

    def then(self, *parts: str | Diagnosis) -> TraceLine:
        """This line with more parts after it."""
        return TraceLine(self.parts + parts)

    @property
    def names_a_diagnosis(self) -> bool:
        return any(isinstance(part, Diagnosis) for part in self.parts)

    def text(self, *, show_diagnoses: bool = True) -> str:
        return "".join(
            part if isinstance(part, str) else part.text if show_diagnoses else DIAGNOSIS_HIDDEN
            for part in self.parts
        )
