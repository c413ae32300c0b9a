"""Who may do what: the staff roles and the one table of actions each role may take, checked by
the service that owns the action (shared.auth.authorized) and nowhere else."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

ROLES = ("city_admin", "county_staff", "grassroots_staff", "finance", "reviewer", "auditor")

_UNIONS = ("city_admin", "county_staff", "grassroots_staff")  # the staff who serve workers
_EVERY_ROLE = ("city_admin", "county_staff", "grassroots_staff", "reviewer", "finance", "auditor")
_FIGURES = ("city_admin", "county_staff", "finance", "auditor")

ROLES_OF: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        # dossiers: filing, confirming, visiting, exiting and moving a household is casework.
        "dossiers.casework": _UNIONS,
        "dossiers.read": _EVERY_ROLE,
        "dossiers.figures": _FIGURES,
        "dossiers.reveal_ids": _UNIONS,
        "dossiers.export": (*_UNIONS, "auditor"),
        "dossiers.grant": ("city_admin", "county_staff", "finance"),
        "dossiers.set_budget": ("finance",),
        "dossiers.condolence": ("city_admin", "finance"),
        "dossiers.campaign": ("city_admin",),
        "dossiers.audit_log": ("auditor",),
        # 12345 hardship referrals wait in the county's queue: county staff (and the city) read
        # and close them; a city platform files them (a partner, judged by its assertion).
        "dossiers.intake_requests": ("city_admin", "county_staff"),
        # mutual_aid
        "mutual_aid.enroll": _UNIONS,
        "mutual_aid.contributions": (*_FIGURES, "grassroots_staff"),
        "mutual_aid.figures": _FIGURES,
        "mutual_aid.load_policy": ("city_admin",),
        "mutual_aid.read": _EVERY_ROLE,
        # Diagnoses are sensitive personal information: the roles that judge or audit claims read
        # them in a claim's trace; everyone else reads the rule steps with the diagnosis masked.
        "mutual_aid.read_diagnoses": ("reviewer", "auditor", "city_admin"),
        "mutual_aid.review_queue": ("reviewer", "city_admin"),
        "mutual_aid.review": ("reviewer",),
        "mutual_aid.audit_log": ("auditor", "city_admin"),
        "mutual_aid.payout": ("finance",),
        "mutual_aid.payout_file": ("finance", "auditor"),
        # student_aid: campaigns are the city's; applications are taken by the staff who serve
        # workers (and from the city portal, a partner judged by the gateway).
        "student_aid.campaign": ("city_admin",),
        "student_aid.apply": _UNIONS,
        "student_aid.read": _EVERY_ROLE,
        # Approving, publishing the notice and judging objections are the city's; any staff who
        # serve workers may record an objection; the money moves at the city org only.
        "student_aid.approve": ("city_admin",),
        "student_aid.object": _UNIONS,
        "student_aid.disburse": ("finance",),
        "student_aid.disbursement_file": ("finance", "auditor"),
        "student_aid.figures": _FIGURES,
        "student_aid.audit_log": ("auditor", "city_admin"),
        # jobs: the staff who serve workers register employers, vacancies, seekers and fairs,
        # match and record intents, hires and follow-ups; figures as elsewhere.
        "jobs.register": _UNIONS,
        "jobs.read": _EVERY_ROLE,
        "jobs.match": _UNIONS,
        "jobs.hire": _UNIONS,
        "jobs.figures": _FIGURES,
        # notifications: the staff who serve workers in their own org subtree, and auditors.
        # Reviewers and finance work on claims and payouts, which they read in mutual_aid; a
        # worker's messages are not theirs to browse.
        "notifications.inbox": (*_UNIONS, "auditor"),
        "notifications.lookup_audit": ("auditor", "city_admin"),
        # contact points: set and read (masked, audited) by the staff who serve workers.
        "notifications.contacts": _UNIONS,
        "notifications.figures": _FIGURES,
        # every service: a replay re-runs a business effect.
        "dead_letters.manage": ("city_admin",),
        # the gateway's own partners (hospitals, city platforms).
        "partners.register": ("city_admin",),
        "partners.audit": ("auditor", "city_admin"),
        # a business date before today, where the platform does not replay past input.
        "business_dates.backdate": ("city_admin",),
    }
)

# The federation's own money (fund budgets, payout batches), which no county or unit moves:
# these actions are allowed to their roles at the city root org only.
AT_CITY_ONLY = frozenset(
    {
        "dossiers.set_budget",
        "mutual_aid.payout",
        "mutual_aid.payout_file",
        "student_aid.disburse",
        "student_aid.disbursement_file",
    }
)
