"""Dossier endpoints: intake, confirmation, visits, exits, transfers, assistance, campaigns, audit."""

from __future__ import annotations

from nameko.rpc import RpcProxy

from services.gateway.edge import Edge
from services.gateway.http import api, csv_attachment, json_response, read_json, read_query
from shared.contracts.dossiers import (
    FUND_YEARS,
    AuditLogQuerySchema,
    AuditLogSchema,
    CampaignRequestSchema,
    CampaignSchema,
    CondolenceBatchRequestSchema,
    CondolenceBatchSchema,
    ConfirmedSchema,
    ConfirmSchema,
    CountyQuerySchema,
    DossierFilterSchema,
    DossierListQuerySchema,
    DossierListSchema,
    DossierRequestSchema,
    DossierSchema,
    DossierStatsSchema,
    ExitedSchema,
    ExitSchema,
    FundRequestSchema,
    FundSchema,
    GrantRequestSchema,
    GrantResultSchema,
    IntakeRequestCloseSchema,
    IntakeRequestFilterSchema,
    IntakeRequestListSchema,
    IntakeRequestSchema,
    OverdueSchema,
    ProposalPreviewSchema,
    ProposalSchema,
    ReevaluationTaskFilterSchema,
    ReevaluationTaskListSchema,
    RevealQuerySchema,
    TransferredSchema,
    TransferSchema,
    VisitDecidedSchema,
    VisitDecisionSchema,
    VisitResultSchema,
    VisitSchema,
)


class DossierRoutes(Edge):
    dossiers = RpcProxy("dossiers")

    @api(
        "POST",
        "/api/v1/dossiers",
        summary="File a household's dossier; answers the proposed tier with its rule trace.",
        request=DossierRequestSchema,
        responses={201: ProposalSchema, 409: "a household member is already in a live dossier"},
    )
    def submit_dossier(self, request):
        principal = self._staff(request)
        return json_response(201, self._call("dossiers", "submit", principal, read_json(request)))

    @api(
        "POST",
        "/api/v1/dossiers/proposals/preview",
        summary="The tier and rule trace intake would propose for this household, stored"
        " nowhere (the intake form shows them as staff type).",
        request=DossierRequestSchema,
        responses={200: ProposalPreviewSchema},
    )
    def preview_dossier(self, request):
        principal = self._staff(request)
        return json_response(200, self._call("dossiers", "preview", principal, read_json(request)))

    @api(
        "POST",
        "/api/v1/dossiers/<dossier_id>/confirm",
        summary="Confirm a tier (or none) for a proposed dossier.",
        request=ConfirmSchema,
        responses={200: ConfirmedSchema},
    )
    def confirm_dossier(self, request, dossier_id):
        principal = self._staff(request)
        body = read_json(request)
        return json_response(200, self._call("dossiers", "confirm", principal, dossier_id, body))

    @api(
        "GET",
        "/api/v1/dossiers",
        summary="Dossiers in your org scope, filtered by county, status and tier, in id order;"
        " ?limit= (at most 500, the default) and ?offset= page through them.",
        query=DossierListQuerySchema,
        responses={200: DossierListSchema},
    )
    def list_dossiers(self, request):
        principal = self._staff(request)
        filters = read_query(request, DossierListQuerySchema)
        return json_response(200, self._call("dossiers", "list_dossiers", principal, **filters))

    @api(
        "GET",
        "/api/v1/dossiers/stats",
        summary="Open households in your org scope, by tier and by county and tier.",
        responses={200: DossierStatsSchema},
    )
    def dossier_stats(self, request):
        principal = self._staff(request)
        return json_response(200, self._call("dossiers", "stats", principal))

    @api(
        "GET",
        "/api/v1/dossiers/export",
        summary="CSV of the dossiers in your scope, ID numbers masked (audited).",
        query=DossierFilterSchema,
        responses={200: "text/csv"},
    )
    def export_dossiers(self, request):
        principal = self._staff(request)
        filters = read_query(request, DossierFilterSchema)
        result = self._call("dossiers", "export", principal, timeout=60, **filters)
        return csv_attachment(result["csv"], "dossiers.csv")

    @api(
        "GET",
        "/api/v1/dossiers/intake-requests",
        summary="12345 hardship referrals waiting in the counties' intake queues (ID and phone "
        "masked), in your scope.",
        query=IntakeRequestFilterSchema,
        responses={200: IntakeRequestListSchema},
    )
    def list_intake_requests(self, request):
        principal = self._staff(request)
        filters = read_query(request, IntakeRequestFilterSchema)
        return json_response(
            200, self._call("dossiers", "list_intake_requests", principal, **filters)
        )

    @api(
        "POST",
        "/api/v1/dossiers/intake-requests/<request_id>/close",
        summary="Close an intake request: the household taken in (a dossier holding the "
        "referred citizen) or a note (audited).",
        request=IntakeRequestCloseSchema,
        responses={200: IntakeRequestSchema, 409: "the request is closed already"},
    )
    def close_intake_request(self, request, request_id):
        principal = self._staff(request)
        body = read_json(request)
        return json_response(
            200, self._call("dossiers", "close_intake_request", principal, request_id, body)
        )

    @api(
        "GET",
        "/api/v1/dossiers/re-evaluation-tasks",
        summary="Dossiers to re-evaluate because their unemployed head was hired; a visit "
        "answers each.",
        query=ReevaluationTaskFilterSchema,
        responses={200: ReevaluationTaskListSchema},
    )
    def list_reevaluation_tasks(self, request):
        principal = self._staff(request)
        filters = read_query(request, ReevaluationTaskFilterSchema)
        return json_response(
            200, self._call("dossiers", "list_reevaluation_tasks", principal, **filters)
        )

    @api(
        "GET",
        "/api/v1/dossiers/<dossier_id>",
        summary="One dossier; ?reveal=ids shows full ID numbers (audited).",
        query=RevealQuerySchema,
        responses={200: DossierSchema},
    )
    def get_dossier(self, request, dossier_id):
        principal = self._staff(request)
        reveal = read_query(request, RevealQuerySchema)["reveal"] == "ids"
        dossier = self._call("dossiers", "get_dossier", principal, dossier_id, reveal)
        return json_response(200, dossier)

    @api(
        "POST",
        "/api/v1/dossiers/<dossier_id>/visits",
        summary="Record a home visit; answers the re-evaluation.",
        request=VisitSchema,
        responses={200: VisitResultSchema},
    )
    def record_visit(self, request, dossier_id):
        principal = self._staff(request)
        body = read_json(request)
        return json_response(
            200, self._call("dossiers", "record_visit", principal, dossier_id, body)
        )

    @api(
        "POST",
        "/api/v1/dossiers/<dossier_id>/visits/<visit_id>/confirm",
        summary="Accept or reject the tier change or exit a visit's re-evaluation proposed.",
        request=VisitDecisionSchema,
        responses={200: VisitDecidedSchema, 409: "no re-evaluation of this visit is waiting"},
    )
    def confirm_visit(self, request, dossier_id, visit_id):
        principal = self._staff(request)
        body = read_json(request)
        return json_response(
            200, self._call("dossiers", "confirm_visit", principal, dossier_id, visit_id, body)
        )

    @api(
        "POST",
        "/api/v1/dossiers/<dossier_id>/exit",
        summary="Close a dossier with a reason (退档).",
        request=ExitSchema,
        responses={200: ExitedSchema},
    )
    def exit_dossier(self, request, dossier_id):
        principal = self._staff(request)
        body = read_json(request)
        return json_response(
            200, self._call("dossiers", "exit_dossier", principal, dossier_id, body)
        )

    @api(
        "POST",
        "/api/v1/dossiers/<dossier_id>/transfer",
        summary="Move a dossier to another county inside the city.",
        request=TransferSchema,
        responses={200: TransferredSchema},
    )
    def transfer_dossier(self, request, dossier_id):
        principal = self._staff(request)
        body = read_json(request)
        return json_response(200, self._call("dossiers", "transfer", principal, dossier_id, body))

    @api(
        "POST",
        "/api/v1/assistance",
        summary="Grant assistance to a household from a fund; never overdraws the fund.",
        request=GrantRequestSchema,
        responses={201: GrantResultSchema},
    )
    def grant_assistance(self, request):
        principal = self._staff(request)
        return json_response(201, self._call("dossiers", "grant", principal, read_json(request)))

    @api(
        "POST",
        "/api/v1/assistance-funds",
        summary="Set a fund's budget for a year (专项帮扶资金).",
        request=FundRequestSchema,
        responses={200: FundSchema},
    )
    def set_fund(self, request):
        principal = self._staff(request)
        return json_response(200, self._call("dossiers", "set_fund", principal, read_json(request)))

    @api(
        "GET",
        f"/api/v1/assistance-funds/<fund>/<int(min={FUND_YEARS.min}, max={FUND_YEARS.max}):year>",
        summary="A fund's budget, spent and remaining for a year.",
        responses={200: FundSchema},
    )
    def get_fund(self, request, fund, year):
        principal = self._staff(request)
        return json_response(200, self._call("dossiers", "get_fund", principal, fund, year))

    @api(
        "POST",
        "/api/v1/condolence-batches",
        summary="Pay the festival condolence (两节慰问) to every open dossier in scope, once.",
        request=CondolenceBatchRequestSchema,
        responses={200: CondolenceBatchSchema},
    )
    def condolence_batch(self, request):
        principal = self._staff(request)
        body = read_json(request)
        result = self._call("dossiers", "condolence_batch", principal, body, timeout=120)
        return json_response(200, result)

    @api(
        "GET",
        "/api/v1/condolence-batches/<festival>",
        summary="Your scope's condolence batch of a festival: households gone through so far "
        "(done) of all (households) while it pays, then what it paid; 404 before it starts.",
        responses={200: CondolenceBatchSchema},
    )
    def condolence_batch_progress(self, request, festival):
        principal = self._staff(request)
        return json_response(
            200, self._call("dossiers", "condolence_batch_progress", principal, festival)
        )

    @api(
        "POST",
        "/api/v1/verification-campaigns",
        summary="Open the verification campaign of a date (the scheduler does so on its days).",
        request=CampaignRequestSchema,
        responses={201: CampaignSchema, 200: CampaignSchema},
    )
    def open_campaign(self, request):
        principal = self._staff(request)
        body = read_json(request)
        result = self._call("dossiers", "open_campaign", principal, body, timeout=120)
        return json_response(201 if result.pop("created") else 200, result)

    @api(
        "GET",
        "/api/v1/verification-campaigns/<campaign_id>",
        summary="A verification campaign.",
        responses={200: CampaignSchema},
    )
    def get_campaign(self, request, campaign_id):
        principal = self._staff(request)
        return json_response(200, self._call("dossiers", "get_campaign", principal, campaign_id))

    @api(
        "POST",
        "/api/v1/verification-campaigns/<campaign_id>/close",
        summary="Close a campaign: unvisited dossiers are flagged verification_overdue.",
        responses={200: CampaignSchema},
    )
    def close_campaign(self, request, campaign_id):
        principal = self._staff(request)
        result = self._call("dossiers", "close_campaign", principal, campaign_id, timeout=120)
        return json_response(200, result)

    @api(
        "GET",
        "/api/v1/verification-campaigns/<campaign_id>/overdue",
        summary="Dossiers left unvisited by a closed campaign, per county.",
        query=CountyQuerySchema,
        responses={200: OverdueSchema},
    )
    def overdue(self, request, campaign_id):
        principal = self._staff(request)
        county = read_query(request, CountyQuerySchema)["county"]
        return json_response(200, self._call("dossiers", "overdue", principal, campaign_id, county))

    @api(
        "GET",
        "/api/v1/audit-log",
        summary="The append-only audit log (auditor): full ID views, exports, exits, grants; "
        "newest first, narrowed by action, target, actor and days from/to (both kept).",
        query=AuditLogQuerySchema,
        responses={200: AuditLogSchema},
    )
    def audit_log(self, request):
        principal = self._staff(request)
        filters = read_query(request, AuditLogQuerySchema)
        # Days travel as ISO strings: the RPC body is JSON.
        for day, name in (("from_", "date_from"), ("to", "date_to")):
            if day in filters:
                filters[name] = filters.pop(day).isoformat()
        return json_response(200, self._call("dossiers", "audit_log", principal, **filters))
