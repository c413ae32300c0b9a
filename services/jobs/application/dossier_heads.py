"""Hardship status is ours, never declared: a seeker heading an open dossier (the read model of
the dossiers events, kept as mutual aid and student aid keep it) gets the hardship priority;
when the dossier exits the priority goes. Every change of it is written on the seeker (with a
new change number), so each replica's match index follows it within a second."""

from __future__ import annotations

from services.jobs.store import JobsStore


def hardship_of(store: JobsStore, id_hash: str) -> dict | None:
    """The open dossier the person heads (``_id`` is the dossier id), or None."""
    return store.open_dossier_of(id_hash)


def follow_dossier(store: JobsStore, head_id_hash: str) -> bool:
    """Set the seeker's priority from the read model as it stands now (run after every dossier
    event, whether or not it changed the row: a redelivery after a failure here must still
    reach the seeker)."""
    return store.set_hardship(head_id_hash, hardship_of(store, head_id_hash) is not None)
