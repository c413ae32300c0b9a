"""The versioned catalogue of event payload schemas, one module per producing service."""

from shared.catalogue import (  # noqa: F401 - importing registers them
    dossiers,
    gateway,
    jobs,
    mutual_aid,
    student_aid,
)
from shared.catalogue.base import CATALOGUE, Payload, register

__all__ = ["CATALOGUE", "Payload", "register"]
