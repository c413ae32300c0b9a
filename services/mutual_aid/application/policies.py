"""Policy versions kept in mutual_aid's database: loaded by staff, seeded from config files,
looked up by day or period, parsed once per digest."""

from __future__ import annotations

import logging
import time
from datetime import date
from pathlib import Path

from services.mutual_aid.domain.policy import MutualAidPolicy, document_from_text
from services.mutual_aid.store import MutualAidStore
from shared.errors import ApiError, validation_error
from shared.events import now_shanghai
from shared.policy import PolicyError

log = logging.getLogger(__name__)

SERVICE = "mutual_aid"

# A digest names exactly one text, so a parsed policy never goes stale: cache it for good.
_PARSED: dict[str, MutualAidPolicy] = {}
_SEEDED: set[tuple[str, str]] = set()
# Every decision reads the version index; a few seconds' cache spares the store a round trip
# per claim. A newly loaded version is seen by every process within this time (this process
# at once); each decision records the version that actually decided it.
INDEX_CACHE_SECONDS = 5.0
_INDEX: dict[str, tuple[float, list[dict]]] = {}


def parse(text: str, source: str) -> MutualAidPolicy:
    return MutualAidPolicy.from_document(document_from_text(text, source))


class PolicyBook:
    """Every version ever loaded, read from the store on each lookup (a small index), so a
    version loaded through any process is in force everywhere from its ``effective_from`` on.
    Decided claims keep the version and digest that decided them and are never recomputed."""

    def __init__(self, store: MutualAidStore, policy_dir: str):
        self.store = store
        self.policy_dir = policy_dir
        self._seed_from_files()

    def _seed_from_files(self) -> None:
        """Store the versions shipped in ``config/policy/mutual_aid`` that are not stored yet."""
        key = (self.store.database_name, self.policy_dir)
        if key in _SEEDED:
            return
        stored = {entry["_id"]: entry for entry in self.store.policy_index()}
        directory = Path(self.policy_dir) / SERVICE
        for path in sorted(directory.glob("*.toml")):
            text = path.read_text(encoding="utf-8")
            policy = parse(text, str(path))
            existing = stored.get(policy.version)
            if existing is None:
                self._store(policy, text, loaded_by="config file " + path.name)
            elif existing["digest"] != policy.digest:
                # The stored text decided claims; a changed file must become a new version.
                log.error(
                    "policy file differs from the stored version; the stored one stays",
                    extra={"version": policy.version, "file": str(path)},
                )
        _SEEDED.add(key)

    def _store(self, policy: MutualAidPolicy, text: str, loaded_by: str) -> bool:
        return self.store.add_policy(
            {
                "_id": policy.version,
                "effective_from": policy.effective_from.isoformat(),
                "digest": policy.digest,
                "document": text,
                "loaded_by": loaded_by,
                "loaded_at": now_shanghai().isoformat(timespec="milliseconds"),
            }
        )

    def versions(self) -> list[dict]:
        return [
            {
                "version": entry["_id"],
                "effective_from": entry["effective_from"],
                "digest": entry["digest"],
                "loaded_by": entry.get("loaded_by"),
                "loaded_at": entry["loaded_at"],
            }
            for entry in self.store.policy_index()
        ]

    def by_version(self, version: str, digest: str | None = None) -> MutualAidPolicy:
        if digest and digest in _PARSED:
            return _PARSED[digest]
        entry = self.store.policy_document(version)
        if entry is None:
            raise PolicyError("policies", None, f"has no version {version!r}")
        if entry["digest"] not in _PARSED:
            _PARSED[entry["digest"]] = parse(entry["document"], f"policies/{version}")
        return _PARSED[entry["digest"]]

    def _cached_index(self) -> list[dict]:
        key = self.store.database_name
        now = time.monotonic()
        cached = _INDEX.get(key)
        if cached is None or now - cached[0] > INDEX_CACHE_SECONDS:
            if cached is not None:
                # One worker refreshes it; the others deciding meanwhile keep the index they
                # had for the length of that one read (they each read it again before).
                _INDEX[key] = (now, cached[1])
            try:
                cached = (now, self.store.policy_index())
            except BaseException:
                if cached is not None:
                    _INDEX[key] = cached  # still due: the next lookup reads it again
                raise
            _INDEX[key] = cached
        return cached[1]

    def in_force_on(self, day: date) -> MutualAidPolicy:
        """The version in force on ``day`` (the earliest one for days before any)."""
        index = self._cached_index()
        if not index:
            raise PolicyError("policies", None, "holds no mutual_aid policy version")
        in_force = [e for e in index if e["effective_from"] <= day.isoformat()] or index[:1]
        entry = in_force[-1]
        return self.by_version(entry["_id"], entry["digest"])

    def single_disease_tables(self) -> list[dict]:
        """``[{"version", "effective_from", "codes"}]`` of every version, oldest first."""
        return [
            {
                "version": entry["_id"],
                "effective_from": entry["effective_from"],
                "codes": sorted(self.by_version(entry["_id"], entry["digest"]).single_diseases),
            }
            for entry in self._cached_index()
        ]

    def for_period(self, period: int) -> MutualAidPolicy:
        """The version in force on 1 January of the period's year (the newest knows the year)."""
        try:
            year = self.in_force_on(date.max).year_of(period)
        except LookupError:
            raise validation_error({"period": [f"period {period} is not in the policy"]}) from None
        return self.in_force_on(date(year, 1, 1))

    def load(self, text: str, loaded_by: str) -> tuple[dict, bool]:
        """Check and store a new version; (its entry, True when stored now).

        The same version with the same digest again is a no-op. A version must take effect
        after every stored one: the past stays decided by the versions that decided it."""
        try:
            policy = parse(text, "upload")
        except PolicyError as exc:
            # The policy file's schema checked the upload; its message names the key path.
            problem = f"{exc.key}: {exc.problem}" if exc.key else exc.problem
            raise validation_error(
                {"document": [problem]}, "The policy document is invalid."
            ) from None
        index = self.store.policy_index()
        for entry in index:
            if entry["_id"] == policy.version:
                if entry["digest"] == policy.digest:
                    return self._entry(entry["_id"]), False
                raise ApiError(
                    409,
                    "conflict",
                    f"version {policy.version} is stored with another text; "
                    "a changed policy needs a new version name",
                )
        if index and policy.effective_from.isoformat() <= index[-1]["effective_from"]:
            raise ApiError(
                409,
                "conflict",
                f"effective_from {policy.effective_from} must be after "
                f"{index[-1]['effective_from']} ({index[-1]['_id']}): "
                "a new version never reaches back over decided claims",
            )
        if not self._store(policy, text, loaded_by):
            raise ApiError(409, "conflict", "another version was stored at the same time")
        _PARSED[policy.digest] = policy
        _INDEX.pop(self.store.database_name, None)
        log.info("policy version loaded", extra={"version": policy.version})
        return self._entry(policy.version), True

    def _entry(self, version: str) -> dict:
        return next(v for v in self.versions() if v["version"] == version)
