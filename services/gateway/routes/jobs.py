"""Jobs endpoints (就业超市): employers, vacancies, seekers, fairs, matching both ways, intents,
hires, follow-ups, figures; and the 12345 referrals of the city platform, routed by kind to jobs
(job seeking) or dossiers (hardship)."""

from __future__ import annotations

from nameko.exceptions import MethodNotFound
from nameko.rpc import RpcProxy

from services.gateway.edge import Edge
from services.gateway.http import PARTNER_HEADER, api, json_response, read_json, read_query
from shared.auth import mint_partner_assertion
from shared.contracts.jobs import (
    EmployerCreatedSchema,
    EmployerRequestSchema,
    EmployerSchema,
    FairCreatedSchema,
    FairRegistrationRequestSchema,
    FairRegistrationSchema,
    FairRequestSchema,
    FairSchema,
    FollowUpQuerySchema,
    FollowUpRecordedSchema,
    FollowUpRequestSchema,
    FollowUpsSchema,
    HiredSchema,
    HireRequestSchema,
    IntentCreatedSchema,
    IntentRequestSchema,
    JobStatsSchema,
    MatchQuerySchema,
    MatchSchema,
    ReferralAcceptedSchema,
    ReferralSchema,
    SeekerCompletionSchema,
    SeekerCreatedSchema,
    SeekerListQuerySchema,
    SeekerListSchema,
    SeekerRequestSchema,
    SeekerSchema,
    StatsQuerySchema,
    VacancyCreatedSchema,
    VacancyRequestSchema,
    VacancySchema,
)
from shared.errors import ApiError, validated

# Where each kind of 12345 referral goes: the service, and its RPC taking (assertion, referral).
REFERRAL_ROUTES = {"job_seeking": "jobs", "hardship": "dossiers"}


class JobsRoutes(Edge):
    jobs = RpcProxy("jobs")
    # dossiers' proxy is declared by DossierRoutes; a hardship referral reaches it through it.

    @api(
        "POST",
        "/api/v1/jobs/employers",
        summary="Register an employer by its unified social credit code (GB 32100).",
        request=EmployerRequestSchema,
        responses={
            201: EmployerCreatedSchema,
            409: "the credit code is registered: employer_id names it",
        },
    )
    def register_employer(self, request):
        principal = self._staff(request)
        result = self._call("jobs", "register_employer", principal, read_json(request))
        return json_response(201, result)

    @api(
        "GET",
        "/api/v1/jobs/employers/<employer_id>",
        summary="An employer.",
        responses={200: EmployerSchema},
    )
    def get_employer(self, request, employer_id):
        principal = self._staff(request)
        return json_response(200, self._call("jobs", "get_employer", principal, employer_id))

    @api(
        "POST",
        "/api/v1/jobs/vacancies",
        summary="Post a vacancy; it matches while open, with places left, until valid_until.",
        request=VacancyRequestSchema,
        responses={201: VacancyCreatedSchema},
    )
    def post_vacancy(self, request):
        principal = self._staff(request)
        return json_response(201, self._call("jobs", "post_vacancy", principal, read_json(request)))

    @api(
        "GET",
        "/api/v1/jobs/vacancies/<vacancy_id>",
        summary="A vacancy with its open headcount and status.",
        responses={200: VacancySchema},
    )
    def get_vacancy(self, request, vacancy_id):
        principal = self._staff(request)
        return json_response(200, self._call("jobs", "get_vacancy", principal, vacancy_id))

    @api(
        "POST",
        "/api/v1/jobs/seekers",
        summary="Register a job seeker (ID number validated, stored sealed); hardship status is "
        "read from the dossiers, never sent.",
        request=SeekerRequestSchema,
        responses={
            201: SeekerCreatedSchema,
            409: "the ID number is registered: seeker_id names it",
        },
    )
    def register_seeker(self, request):
        principal = self._staff(request)
        result = self._call("jobs", "register_seeker", principal, read_json(request))
        return json_response(201, result)

    @api(
        "GET",
        "/api/v1/jobs/seekers",
        summary="Seekers by status and county (status=incomplete: those a 12345 referral "
        "registered, for staff to complete), masked.",
        query=SeekerListQuerySchema,
        responses={200: SeekerListSchema},
    )
    def list_seekers(self, request):
        principal = self._staff(request)
        read_query(request, SeekerListQuerySchema)
        query = request.args.to_dict()
        return json_response(200, self._call("jobs", "list_seekers", principal, query))

    @api(
        "GET",
        "/api/v1/jobs/seekers/<seeker_id>",
        summary="A seeker, masked.",
        responses={200: SeekerSchema},
    )
    def get_seeker(self, request, seeker_id):
        principal = self._staff(request)
        return json_response(200, self._call("jobs", "get_seeker", principal, seeker_id))

    @api(
        "PATCH",
        "/api/v1/jobs/seekers/<seeker_id>",
        summary="Complete the profile of a seeker a 12345 referral registered: it starts matching.",
        request=SeekerCompletionSchema,
        responses={200: SeekerSchema, 409: "the seeker is complete already"},
    )
    def complete_seeker(self, request, seeker_id):
        principal = self._staff(request)
        result = self._call("jobs", "complete_seeker", principal, seeker_id, read_json(request))
        return json_response(200, result)

    @api(
        "POST",
        "/api/v1/jobs/fairs",
        summary="Open a job fair (monthly, campus–enterprise, migrant-worker special).",
        request=FairRequestSchema,
        responses={201: FairCreatedSchema},
    )
    def open_fair(self, request):
        principal = self._staff(request)
        return json_response(201, self._call("jobs", "open_fair", principal, read_json(request)))

    @api(
        "GET",
        "/api/v1/jobs/fairs/<fair_id>",
        summary="A fair with the employers and seekers registered for it.",
        responses={200: FairSchema},
    )
    def get_fair(self, request, fair_id):
        principal = self._staff(request)
        return json_response(200, self._call("jobs", "get_fair", principal, fair_id))

    @api(
        "POST",
        "/api/v1/jobs/fairs/<fair_id>/registrations",
        summary="Register an employer or a seeker for a fair (again: the same registration).",
        request=FairRegistrationRequestSchema,
        responses={201: FairRegistrationSchema},
    )
    def register_at_fair(self, request, fair_id):
        principal = self._staff(request)
        result = self._call("jobs", "register_at_fair", principal, fair_id, read_json(request))
        return json_response(201, result)

    @api(
        "GET",
        "/api/v1/jobs/seekers/<seeker_id>/matches",
        summary="The best vacancies for a seeker, with score and reasons, best first.",
        query=MatchQuerySchema,
        responses={200: MatchSchema(many=True), 422: "seeker_incomplete"},
    )
    def seeker_matches(self, request, seeker_id):
        principal = self._staff(request)
        read_query(request, MatchQuerySchema)
        query = request.args.to_dict()
        return json_response(200, self._call("jobs", "seeker_matches", principal, seeker_id, query))

    @api(
        "GET",
        "/api/v1/jobs/vacancies/<vacancy_id>/matches",
        summary="The best seekers for a vacancy, with score and reasons, best first.",
        query=MatchQuerySchema,
        responses={200: MatchSchema(many=True)},
    )
    def vacancy_matches(self, request, vacancy_id):
        principal = self._staff(request)
        read_query(request, MatchQuerySchema)
        query = request.args.to_dict()
        result = self._call("jobs", "vacancy_matches", principal, vacancy_id, query)
        return json_response(200, result)

    @api(
        "POST",
        "/api/v1/jobs/intents",
        summary="Record an employment intent (就业意向) a seeker and an employer agreed.",
        request=IntentRequestSchema,
        responses={201: IntentCreatedSchema, 422: "vacancy_not_open or seeker_incomplete"},
    )
    def record_intent(self, request):
        principal = self._staff(request)
        return json_response(
            201, self._call("jobs", "record_intent", principal, read_json(request))
        )

    @api(
        "POST",
        "/api/v1/jobs/intents/<intent_id>/hire",
        summary="The intent ended in a hire: one open place taken, the last one closes the "
        "vacancy; follow-ups fall due on days 30 and 90.",
        request=HireRequestSchema,
        responses={200: HiredSchema, 409: "vacancy_filled: no open place left"},
    )
    def hire(self, request, intent_id):
        principal = self._staff(request)
        result = self._call("jobs", "hire", principal, intent_id, read_json(request))
        return json_response(200, result)

    @api(
        "POST",
        "/api/v1/jobs/intents/<intent_id>/follow-ups",
        summary="Record a hire's day-30 or day-90 follow-up.",
        request=FollowUpRequestSchema,
        responses={201: FollowUpRecordedSchema, 409: "recorded already, or not a hire"},
    )
    def record_follow_up(self, request, intent_id):
        principal = self._staff(request)
        result = self._call("jobs", "record_follow_up", principal, intent_id, read_json(request))
        return json_response(201, result)

    @api(
        "GET",
        "/api/v1/jobs/follow-ups",
        summary="Follow-ups not yet recorded, due before due_before (that day excluded), by "
        "county, earliest first.",
        query=FollowUpQuerySchema,
        responses={200: FollowUpsSchema},
    )
    def follow_ups(self, request):
        principal = self._staff(request)
        read_query(request, FollowUpQuerySchema)
        return json_response(
            200, self._call("jobs", "follow_ups", principal, request.args.to_dict())
        )

    @api(
        "GET",
        "/api/v1/jobs/stats",
        summary="Fairs, employers, positions, seekers served, intents, hires and 90-day "
        "retention for a date range, by county and by fair kind.",
        query=StatsQuerySchema,
        responses={200: JobStatsSchema},
    )
    def job_stats(self, request):
        principal = self._staff(request)
        read_query(request, StatsQuerySchema)
        return json_response(200, self._call("jobs", "stats", principal, request.args.to_dict()))

    @api(
        "POST",
        "/api/v1/city/referrals",
        auth="webhook",
        summary="A 12345 hotline referral, signed by a registered city platform (optionally "
        f"named in {PARTNER_HEADER}): hardship → a dossier intake request of the county, job "
        "seeking → an incomplete seeker registration. The same case_no → the same referral.",
        request=ReferralSchema,
        responses={202: ReferralAcceptedSchema},
    )
    def city_referral(self, request):
        partner, _webhook_id = self._city_platform(request)
        referral = validated(ReferralSchema(), read_json(request))
        registered = {
            "code": partner["_id"],
            "kind": partner["kind"],
            "level": partner.get("level"),
        }
        assertion = mint_partner_assertion(registered, self.settings)
        service = REFERRAL_ROUTES[referral["kind"]]
        try:
            result = self._call(service, "take_referral", assertion, referral)
        except MethodNotFound:
            raise ApiError(
                503, "service_unavailable", f"{service} does not take referrals yet."
            ) from None
        return json_response(202, {"referral_id": result["referral_id"], "routed_to": service})
