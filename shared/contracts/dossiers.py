"""The dossiers contract (API.md "Dossiers"): the request and response schemas the gateway
publishes and the service validates, and the vocabulary they use."""

from __future__ import annotations

import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from shared import orgs
from shared.catalogue.dossiers import GRANT_TYPES
from shared.identity import IdNumber, WholeMatch
from shared.money import Money

TIERS = ("national", "local", "grassroots")
CAUSES = (
    "illness",
    "major_illness",
    "disability",
    "unemployment",
    "single_parent",
    "child_education",
    "accident",
    "disaster",
    "low_income",
)
# Exit reasons a staff member may give; a move inside the city is a transfer, never an exit.
STAFF_EXIT_REASONS = ("income_above_line", "death_or_dissolved", "moved_out_of_city", "fraud")
COUNTY = re.compile(orgs.code_pattern())
ORG = re.compile(orgs.code_pattern(unit=True))
CATEGORIES = ["低保户", "低保边缘户", "意外致困户"]
RELATIONS = ["self", "spouse", "child", "parent", "other"]
MAX_MEMBERS = 20
STATUSES = ["proposed", "open", "declined", "expired", "closed"]
# Funds are kept for the years 2000 to 2100 (FundRequestSchema): a festival outside them has
# no fund to pay from, and year 0 has no calendar date at all.
FUND_YEARS = validate.Range(min=2000, max=2100)
FESTIVAL = re.compile(r"^(20[0-9][0-9]|2100)-(spring|new_year)$")
FUND = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
AUDIT_LOG_MAX_LIMIT = 1000  # the most audit entries the service answers at once
AUDIT_ACTOR_MAX = 64  # the longest staff id (a token's sub) the audit log is searched by


class Strict(Schema):
    class Meta:
        unknown = RAISE


class DossierFilterSchema(Strict):
    """What a dossier list or export may be narrowed by: named fields, never a query."""

    county = fields.String(load_default=None, validate=WholeMatch(COUNTY))
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    tier = fields.String(load_default=None, validate=validate.OneOf(TIERS))


LIST_LIMIT = 500  # the most dossiers one list answer holds


class DossierListQuerySchema(DossierFilterSchema):
    """A list page: the filters, how many (1..500, default 500) and how many to skip, in
    dossier id order, so a client pages through its scope without taking 500 at a time."""

    limit = fields.Integer(load_default=LIST_LIMIT, validate=validate.Range(min=1, max=LIST_LIMIT))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class RevealQuerySchema(Strict):
    """?reveal=ids shows a dossier's full ID numbers (audited)."""

    reveal = fields.String(load_default=None, validate=validate.OneOf(["ids"]))


class CountyQuerySchema(Strict):
    county = fields.String(load_default=None, validate=WholeMatch(COUNTY))


class AuditLogQuerySchema(Schema):
    """The query string of the audit log: filters and a page size. ``actor`` is the staff id
    (the token's ``sub``) exactly; ``from`` and ``to`` are days (Asia/Shanghai), both kept."""

    action = fields.String(validate=validate.Length(min=1, max=100))
    target = fields.String(validate=validate.Length(min=1, max=200))
    actor = fields.String(validate=validate.Length(min=1, max=AUDIT_ACTOR_MAX))
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    limit = fields.Integer(validate=validate.Range(min=1, max=AUDIT_LOG_MAX_LIMIT))

    @validates_schema
    def in_order(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["to"] < data["from_"]:
            raise ValidationError({"to": ["must not be before from"]})


class MemberSchema(Strict):
    id_number = IdNumber(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    relation = fields.String(required=True, validate=validate.OneOf(RELATIONS))
    monthly_income = Money(required=True)
    health = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    school = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class AssetsSchema(Strict):
    homes = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=99))
    owns_business = fields.Boolean(required=True)
    private_school_or_abroad = fields.Boolean(required=True)
    non_work_vehicle = fields.Boolean(required=True)


class DossierRequestSchema(Strict):
    county = fields.String(required=True, validate=WholeMatch(COUNTY))
    org = fields.String(required=True, validate=WholeMatch(ORG))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    head_id_number = IdNumber(required=True)
    employment_status = fields.String(required=True, validate=validate.Length(min=1, max=40))
    employer = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    members = fields.List(
        fields.Nested(MemberSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_MEMBERS),
    )
    monthly_rigid_expenditure = Money(required=True)
    months_below_line = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=0, max=600)
    )
    causes = fields.List(
        fields.String(validate=validate.OneOf(CAUSES)),
        required=True,
        validate=validate.Length(max=9),
    )
    assets = fields.Nested(AssetsSchema, required=True)
    address = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20))
    intake_date = fields.Date(load_default=None)  # today unless backdating is allowed

    @validates_schema
    def check_household(self, data, **kwargs):
        errors = {}
        county, org = data["county"], data["org"]
        if not orgs.tree().is_county(county):
            errors["county"] = ["is not a county of the city"]
        elif not orgs.contains(county, org):
            errors["org"] = [f"must be {county} or a unit under it"]
        ids = [m["id_number"] for m in data["members"]]
        if len(set(ids)) != len(ids):
            errors["members"] = ["an ID number appears twice"]
        heads = [m for m in data["members"] if m["relation"] == "self"]
        if len(heads) != 1 or heads[0]["id_number"] != data["head_id_number"]:
            errors["head_id_number"] = ["must be the one member with relation self"]
        if errors:
            raise ValidationError(errors)


class ProposalSchema(Schema):
    dossier_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    proposed_tier = fields.String(required=True, allow_none=True)
    trace = fields.List(fields.String(), required=True)


class ProposalPreviewSchema(Schema):
    """The tier the rules would propose for a household as staff type it: nothing stored."""

    proposed_tier = fields.String(required=True, allow_none=True)
    trace = fields.List(fields.String(), required=True)
    policy_version = fields.String(required=True)


class ConfirmSchema(Strict):
    tier = fields.String(required=True, allow_none=True, validate=validate.OneOf(TIERS))


class ConfirmedSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    tier = fields.String(required=True, allow_none=True)


class MemberViewSchema(Schema):
    id_number = fields.String()
    name = fields.String()
    relation = fields.String()
    monthly_income = Money()
    health = fields.String(allow_none=True)
    school = fields.String(allow_none=True)


class GrantViewSchema(Schema):
    grant_id = fields.String()
    type = fields.String()
    amount = Money()
    fund = fields.String()
    source = fields.String()
    approver = fields.String(allow_none=True)
    granted_on = fields.String()
    campaign = fields.Integer()  # the student aid campaign (year) of an education award


class DossierSchema(Schema):
    dossier_id = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))
    county = fields.String()
    org = fields.String()
    category = fields.String()
    head_id_number = fields.String()
    employment_status = fields.String()
    employer = fields.String(allow_none=True)
    members = fields.List(fields.Nested(MemberViewSchema))
    monthly_rigid_expenditure = Money()
    months_below_line = fields.Integer()
    causes = fields.List(fields.String())
    assets = fields.Dict()
    address = fields.String()
    intake_date = fields.String()
    proposed_tier = fields.String(allow_none=True)
    tier = fields.String(allow_none=True)
    trace = fields.List(fields.String())
    policy_version = fields.String()
    revision = fields.Integer()
    opened_on = fields.String(allow_none=True)
    closed_on = fields.String(allow_none=True)
    exit_reason = fields.String(allow_none=True)
    verification_overdue = fields.Boolean()
    assistance_total = Money()
    ledger = fields.List(fields.Nested(GrantViewSchema))
    pending_re_evaluation = fields.Nested(lambda: PendingReEvaluationSchema(), allow_none=True)


class PendingReEvaluationSchema(Schema):
    """A visit's re-evaluation waiting for staff: a tier change or an exit."""

    visit_id = fields.String()
    visit_date = fields.String()
    outcome = fields.String(validate=validate.OneOf(["tier_changed", "exit"]))
    tier_from = fields.String()
    tier = fields.String(allow_none=True)
    exit_reason = fields.String(allow_none=True)
    trace = fields.List(fields.String())
    policy_version = fields.String()
    proposed_by = fields.String()


class DossierListSchema(Schema):
    dossiers = fields.List(fields.Nested(DossierSchema))


class TierCountsSchema(Schema):
    national = fields.Integer()
    local = fields.Integer()
    grassroots = fields.Integer()


class DossierStatsSchema(Schema):
    """Open households in the caller's scope, by tier, and by county and tier."""

    open = fields.Integer()
    by_tier = fields.Nested(TierCountsSchema)
    by_county = fields.Dict(keys=fields.String(), values=fields.Nested(TierCountsSchema))


class VisitMemberSchema(Strict):
    """A change to a member already in the household: the income, and what else was found."""

    id_number = IdNumber(required=True)
    monthly_income = Money(required=True)
    name = fields.String(validate=validate.Length(min=1, max=50))
    relation = fields.String(validate=validate.OneOf(RELATIONS))
    health = fields.String(allow_none=True, validate=validate.Length(max=200))
    school = fields.String(allow_none=True, validate=validate.Length(max=100))


class VisitSchema(Strict):
    visit_date = fields.Date(required=True)
    visitor = fields.String(required=True, validate=validate.Length(min=1, max=50))
    findings = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    members = fields.List(
        fields.Nested(VisitMemberSchema),
        load_default=list,
        validate=validate.Length(max=MAX_MEMBERS),
    )
    add_members = fields.List(
        fields.Nested(MemberSchema), load_default=list, validate=validate.Length(max=MAX_MEMBERS)
    )
    remove_members = fields.List(
        IdNumber(), load_default=list, validate=validate.Length(max=MAX_MEMBERS)
    )
    monthly_rigid_expenditure = Money(load_default=None, allow_none=True)
    months_below_line = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=0, max=600)
    )
    causes = fields.List(fields.String(validate=validate.OneOf(CAUSES)), load_default=None)
    assets = fields.Nested(AssetsSchema, load_default=None, allow_none=True)


class VisitResultSchema(Schema):
    """``outcome`` is the re-evaluation's proposal: a tier change or an exit waits for staff
    (``awaiting_confirmation``) and the dossier keeps its tier and status until then."""

    dossier_id = fields.String()
    visit_id = fields.String()
    outcome = fields.String(validate=validate.OneOf(["unchanged", "tier_changed", "exit"]))
    awaiting_confirmation = fields.Boolean()
    status = fields.String()
    tier = fields.String(allow_none=True)
    exit_reason = fields.String(allow_none=True)
    trace = fields.List(fields.String())
    campaign_id = fields.String(allow_none=True)


class VisitDecisionSchema(Strict):
    accept = fields.Boolean(required=True, truthy={True}, falsy={False})


class VisitDecidedSchema(Schema):
    dossier_id = fields.String()
    visit_id = fields.String()
    decision = fields.String(validate=validate.OneOf(["accepted", "rejected"]))
    status = fields.String()
    tier = fields.String(allow_none=True)
    exit_reason = fields.String(allow_none=True)


class ExitSchema(Strict):
    reason = fields.String(required=True, validate=validate.OneOf(STAFF_EXIT_REASONS))
    exited_on = fields.Date(load_default=None)


class ExitedSchema(Schema):
    dossier_id = fields.String()
    status = fields.String()
    exit_reason = fields.String()
    closed_on = fields.String()


class TransferSchema(Strict):
    county = fields.String(required=True, validate=WholeMatch(COUNTY))
    org = fields.String(required=True, validate=WholeMatch(ORG))
    transferred_on = fields.Date(load_default=None)

    @validates_schema
    def check_org(self, data, **kwargs):
        if not orgs.tree().is_county(data["county"]):
            raise ValidationError({"county": ["is not a county of the city"]})
        if not orgs.contains(data["county"], data["org"]):
            raise ValidationError({"org": [f"must be {data['county']} or a unit under it"]})


class TransferredSchema(Schema):
    dossier_id = fields.String()
    county = fields.String()
    org = fields.String()


class GrantRequestSchema(Strict):
    dossier_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    type = fields.String(required=True, validate=validate.OneOf(GRANT_TYPES))
    amount = Money(required=True, validate=validate.Range(min=1, error="must be more than 0"))
    fund = fields.String(required=True, validate=WholeMatch(FUND))
    granted_on = fields.Date(load_default=None)


class GrantResultSchema(Schema):
    grant_id = fields.String()
    dossier_id = fields.String()
    type = fields.String()
    amount = Money()
    fund = fields.String()
    year = fields.Integer()
    fund_remaining = Money()


class FundRequestSchema(Strict):
    fund = fields.String(required=True, validate=WholeMatch(FUND))
    year = fields.Integer(required=True, strict=True, validate=FUND_YEARS)
    budget = Money(required=True)


class FundSchema(Schema):
    fund = fields.String()
    year = fields.Integer()
    budget = Money()
    spent = Money()
    remaining = Money()


FESTIVAL_ERROR = "must look like 2019-spring or 2019-new_year, a year from 2000 to 2100"


class CondolenceBatchRequestSchema(Strict):
    festival = fields.String(required=True, validate=WholeMatch(FESTIVAL, error=FESTIVAL_ERROR))
    fund = fields.String(required=True, validate=WholeMatch(FUND))


class CondolenceBatchKeySchema(Strict):
    """A batch is the caller's scope's for a festival: the festival names it."""

    festival = fields.String(required=True, validate=WholeMatch(FESTIVAL, error=FESTIVAL_ERROR))


class CondolenceBatchSchema(Schema):
    batch_id = fields.String()
    festival = fields.String()
    fund = fields.String()
    status = fields.String(metadata={"description": "reserving, paying or paid"})
    households = fields.Integer()
    total = Money()
    done = fields.Integer(
        metadata={"description": "households gone through so far (all of them once paid)"}
    )
    paid_households = fields.Integer()
    paid_total = Money()


class CampaignRequestSchema(Strict):
    opened_on = fields.Date(required=True)


class CampaignSchema(Schema):
    campaign_id = fields.String()
    status = fields.String()
    opened_on = fields.String()
    closes_on = fields.String()
    tasks = fields.Integer()
    overdue = fields.Integer(allow_none=True)


class OverdueSchema(Schema):
    campaign_id = fields.String()
    counties = fields.Dict(keys=fields.String(), values=fields.List(fields.Dict()))


class AuditEntrySchema(Schema):
    audit_id = fields.String()
    at = fields.String()
    actor = fields.String()
    role = fields.String()
    action = fields.String()
    target = fields.String()
    org = fields.String(allow_none=True)
    detail = fields.Dict()


class AuditLogSchema(Schema):
    entries = fields.List(fields.Nested(AuditEntrySchema))


# ---- 12345 hardship referrals: the counties' intake-request queue ------------------------------

INTAKE_REQUEST_STATUSES = ["open", "closed"]
REEVALUATION_TASK_STATUSES = ["pending", "visited"]


class IntakeRequestFilterSchema(Strict):
    """What the intake-request list may be narrowed by: named fields, never a query."""

    county = fields.String(load_default=None, validate=WholeMatch(COUNTY))
    status = fields.String(load_default=None, validate=validate.OneOf(INTAKE_REQUEST_STATUSES))


class IntakeRequestCloseSchema(Strict):
    """Staff took the household in (``dossier_id``: a dossier holding the referred citizen),
    or closed the request with a ``note`` saying why not; at least one of the two."""

    dossier_id = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=64)
    )
    note = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=2000)
    )

    @validates_schema
    def check_one(self, data, **kwargs):
        if not data["dossier_id"] and not data["note"]:
            raise ValidationError({"dossier_id": ["a dossier_id or a note is required"]})


class IntakeCitizenSchema(Schema):
    id_number = fields.String()  # masked
    name = fields.String()
    phone = fields.String()  # masked


class IntakeRequestSchema(Schema):
    referral_id = fields.String()
    case_no = fields.String()
    county = fields.String()
    status = fields.String(validate=validate.OneOf(INTAKE_REQUEST_STATUSES))
    citizen = fields.Nested(IntakeCitizenSchema)
    summary = fields.String()
    received_on = fields.String()
    received_from = fields.String()
    closed_by = fields.String(allow_none=True)
    closed_on = fields.String(allow_none=True)
    dossier_id = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class IntakeRequestListSchema(Schema):
    intake_requests = fields.List(fields.Nested(IntakeRequestSchema))


class ReevaluationTaskFilterSchema(Strict):
    county = fields.String(load_default=None, validate=WholeMatch(COUNTY))
    status = fields.String(load_default=None, validate=validate.OneOf(REEVALUATION_TASK_STATUSES))


class ReevaluationTaskSchema(Schema):
    """A re-evaluation staff owe a dossier: its head, unemployed at intake, was hired. A visit
    to the dossier answers it (``visit_id``); the visit's re-evaluation is the proposal."""

    task_id = fields.String()
    dossier_id = fields.String()
    county = fields.String()
    org = fields.String()
    reason = fields.String()
    hired_on = fields.String()
    status = fields.String(validate=validate.OneOf(REEVALUATION_TASK_STATUSES))
    created_at = fields.String()
    visit_id = fields.String(allow_none=True)


class ReevaluationTaskListSchema(Schema):
    tasks = fields.List(fields.Nested(ReevaluationTaskSchema))
