"""The versioned catalogue of event payload schemas, one module per producing service."""

from shared.catalogue import dossiers, jobs, mutual_aid, student_aid  # noqa: F401 - importing registers them
from shared.catalogue.base import CATALOGUE, Payload, register

__all__ = ["CATALOGUE", "Payload", "register"]
