"""The console's WSGI application: werkzeug routing, jinja2 pages, every datum from /api/v1."""

from __future__ import annotations

import calendar
import math
import re
import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from services.console import identity
from services.console.api import Answer, Gateway
from services.console.config import ConsoleSettings
from services.console.identity import FieldErrors, Sessions, SignInRefused, Staff
from services.console.oidc import OidcClient
from shared import orgs
from shared.auth import may
from shared.contracts.dossiers import CATEGORIES, CAUSES, RELATIONS, STAFF_EXIT_REASONS, TIERS
from shared.contracts.roles import ROLES

HERE = Path(__file__).resolve().parent
SHANGHAI = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 25
AUDIT_LOG_LIMIT = 1000  # the most entries the audit log answers at once (paged here)
# Mutual-aid periods are calendar years numbered from 2008 (DOMAIN.md: period 11 = 2018).
FIRST_PERIOD_YEAR = 2007
# A condolence batch pays thousands of households in one call (the gateway waits up to 120 s
# for it); its progress is read meanwhile from GET /api/v1/condolence-batches/{festival}.
CONDOLENCE_TIMEOUT_SECONDS = 150
FESTIVAL = re.compile(r"^[0-9]{4}-(spring|new_year)$")
SERVICES_WITH_DEAD_LETTERS = ("dossiers", "mutual_aid", "student_aid", "notifications")

TIER_NAMES = {"national": "全国级", "local": "省市级", "grassroots": "基层级", None: "不建档"}
STATUS_NAMES = {
    "proposed": "待确认",
    "open": "在档",
    "declined": "不予建档",
    "expired": "已过期",
    "closed": "已退出",
    "received": "已接收",
    "approved": "已核准",
    "rejected": "已拒绝",
    "needs_review": "待审核",
    "paid": "已支付",
    "eligible": "符合条件",
    "ineligible": "不符合条件",
    "waitlisted": "候补",
    "in_review": "异议复核中",
    "parked": "已搁置",
    "replaying": "重放中",
    "replayed": "已重放",
}
CAUSE_NAMES = {
    "illness": "疾病",
    "major_illness": "重大疾病",
    "disability": "残疾",
    "unemployment": "失业",
    "single_parent": "单亲",
    "child_education": "子女教育",
    "accident": "意外",
    "disaster": "灾害",
    "low_income": "收入低",
}
RELATION_NAMES = {
    "self": "本人",
    "spouse": "配偶",
    "child": "子女",
    "parent": "父母",
    "other": "其他",
}
EXIT_NAMES = {
    "income_above_line": "收入超过标准",
    "death_or_dissolved": "死亡或家庭解体",
    "moved_out_of_city": "迁出本市",
    "fraud": "虚报冒领",
}
LEVEL_NAMES = {
    "undergraduate": "本科",
    "junior_college": "大专",
    "vocational": "中职",
    "senior_high": "普通高中",
}
MEMBER_ROWS = 4
AID_VOCAB = {
    "levels": ["undergraduate", "junior_college", "vocational", "senior_high"],
    "school_kinds": {
        "regular": "普通院校",
        "military": "军事院校",
        "free_normal": "公费师范",
        "directed": "定向培养",
    },
}


def mask_name(name: str | None) -> str:
    """王芳 → 王*, a staff id as its first character and a star (who, never in full)."""
    if not name:
        return "—"
    return name[0] + "*"


def today() -> str:
    return datetime.now(SHANGHAI).date().isoformat()


class Page:
    """One request: the session, the person signed in, and the gateway on their behalf."""

    def __init__(self, console: Console, request: Request):
        self.console = console
        self.request = request
        self.session = console.sessions.load(request.cookies.get(identity.COOKIE))
        self.staff: Staff | None = identity.staff_of(self.session)
        self.session_changed = False
        self.request_id = request.headers.get("X-Request-Id") or secrets.token_hex(8)

    def api(self, method: str, path: str, **kwargs) -> Answer:
        answer = self.console.gateway.call(
            method,
            path,
            self.staff.token if self.staff else None,
            request_id=self.request_id,
            **kwargs,
        )
        return answer

    def offers(self, action: str) -> bool:
        """Whether the page shows the controls of ``action`` to this staff member, read from the
        one role table (shared.auth.may). Only a courtesy: the service owning the action judges
        every call the console makes on the caller's token, as it judges any client's."""
        return bool(self.staff) and may(self.staff.role, action)

    def render(self, template: str, status: int = 200, **context) -> Response:
        body = self.console.templates.get_template(template).render(
            page=self, staff=self.staff, csrf=self.session["csrf"], **context
        )
        return Response(body, status=status, mimetype="text/html")

    def url(self, path: str, **params) -> str:
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        return path + ("?" + urlencode(clean) if clean else "")


def paginate(items: list, page_arg: str | None) -> tuple[list, dict]:
    total = len(items)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    try:
        page = min(max(1, int(page_arg or 1)), pages)
    except ValueError:
        page = 1
    start = (page - 1) * PAGE_SIZE
    return items[start : start + PAGE_SIZE], {"page": page, "pages": pages, "total": total}


def page_number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and 0 < int(text) <= 40_000 else 1


def money_to_float(text: str | None) -> float:
    try:
        return float(text or 0)
    except ValueError:
        return 0.0


class Console:
    def __init__(self, settings: ConsoleSettings, gateway: Gateway | None = None):
        self.settings = settings
        self.sessions = Sessions(settings)
        self.gateway = gateway or Gateway(settings.gateway_url, settings.api_timeout_seconds)
        self.oidc = OidcClient(settings) if settings.oidc_enabled else None
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.globals.update(
            role_names=identity.ROLE_NAMES,
            tier_names=TIER_NAMES,
            status_names=STATUS_NAMES,
            cause_names=CAUSE_NAMES,
            relation_names=RELATION_NAMES,
            exit_names=EXIT_NAMES,
            level_names=LEVEL_NAMES,
            counties=dict(orgs.tree().counties),
            city=orgs.city_root(),
            mask_name=mask_name,
            dev_signin=settings.is_development,
        )
        self.templates.filters["fen"] = fen_to_yuan
        self.templates.filters["merge_page"] = merge_page
        self.url_map = Map(
            [
                Rule("/signin", endpoint="signin", methods=["GET", "POST"]),
                Rule("/signout", endpoint="signout", methods=["POST"]),
                Rule("/oidc/login", endpoint="oidc_login"),
                Rule("/oidc/callback", endpoint="oidc_callback"),
                Rule("/alive", endpoint="alive"),
                Rule("/ready", endpoint="ready"),
                Rule("/", endpoint="dashboard"),
                Rule("/dashboard/households", endpoint="households"),
                Rule("/dashboard/jobs-months", endpoint="jobs_months"),
                Rule("/review", endpoint="review_queue"),
                Rule("/claims", endpoint="claim_lookup"),
                Rule("/claims/<claim_id>", endpoint="claim"),
                Rule("/claims/<claim_id>/review", endpoint="claim_review", methods=["POST"]),
                Rule("/dossiers", endpoint="dossiers"),
                Rule("/dossiers/new", endpoint="dossier_new", methods=["GET", "POST"]),
                Rule("/dossiers/preview", endpoint="dossier_preview", methods=["POST"]),
                Rule("/dossiers/<dossier_id>", endpoint="dossier"),
                Rule("/dossiers/<dossier_id>/<action>", endpoint="dossier_act", methods=["POST"]),
                Rule(
                    "/dossiers/<dossier_id>/visits/<visit_id>/confirm",
                    endpoint="visit_confirm",
                    methods=["POST"],
                ),
                Rule("/overdue", endpoint="overdue"),
                Rule("/student-aid", endpoint="student_aid"),
                Rule(
                    "/student-aid/<int:year>/<action>", endpoint="student_aid_act", methods=["POST"]
                ),
                Rule("/student-aid/lookup", endpoint="application_lookup"),
                Rule(
                    "/student-aid/applications/new",
                    endpoint="application_new",
                    methods=["GET", "POST"],
                ),
                Rule("/student-aid/applications/<application_id>", endpoint="application"),
                Rule(
                    "/student-aid/applications/<application_id>/<action>",
                    endpoint="application_act",
                    methods=["POST"],
                ),
                Rule("/student-aid/disbursements/<batch_id>/file", endpoint="disbursement_file"),
                Rule(
                    "/student-aid/disbursements/<batch_id>/confirm",
                    endpoint="disbursement_confirm",
                    methods=["POST"],
                ),
                Rule("/condolence", endpoint="condolence", methods=["GET", "POST"]),
                Rule("/condolence/progress", endpoint="condolence_progress"),
                Rule("/finance", endpoint="finance", methods=["GET", "POST"]),
                Rule("/finance/payouts/<batch_id>/file", endpoint="payout_file"),
                Rule(
                    "/finance/payouts/<batch_id>/confirm",
                    endpoint="payout_confirm",
                    methods=["POST"],
                ),
                Rule("/jobs", endpoint="jobs"),
                Rule("/jobs/lookup", endpoint="jobs_lookup"),
                Rule("/jobs/seekers/<seeker_id>", endpoint="seeker"),
                Rule("/jobs/vacancies/<vacancy_id>", endpoint="vacancy"),
                Rule("/jobs/fairs/<fair_id>", endpoint="fair"),
                Rule("/jobs/<action>", endpoint="jobs_act", methods=["POST"]),
                Rule("/operations", endpoint="operations"),
                Rule(
                    "/operations/dead-letters/<service>/<letter_id>/replay",
                    endpoint="replay",
                    methods=["POST"],
                ),
                Rule("/audit", endpoint="audit"),
            ],
            strict_slashes=False,
        )
        self.wsgi = SharedDataMiddleware(self.dispatch, {"/static": str(HERE / "static")})

    def __call__(self, environ, start_response):
        return self.wsgi(environ, start_response)

    # ---- plumbing --------------------------------------------------------------------------

    def dispatch(self, environ, start_response):
        request = Request(environ)
        request.max_form_memory_size = 256 * 1024
        page = Page(self, request)
        try:
            endpoint, args = self.url_map.bind_to_environ(environ).match()
            response = self.handle(page, endpoint, args)
        except HTTPException as exc:
            response = exc.get_response(environ)
        if page.session_changed:
            response.set_cookie(
                identity.COOKIE,
                self.sessions.dump(page.session),
                **self.sessions.cookie_options(page.session),
            )
        elif identity.COOKIE not in request.cookies:
            # An anonymous session from the first page on: forms need its CSRF token.
            response.set_cookie(
                identity.COOKIE,
                self.sessions.dump(page.session),
                **self.sessions.cookie_options(page.session),
            )
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
            " frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cache-Control", "no-store")
        return response(environ, start_response)

    def handle(self, page: Page, endpoint: str, args: dict) -> Response:
        if endpoint == "alive":
            return Response("ok", mimetype="text/plain")
        if endpoint == "ready":
            up = self.gateway.call("GET", "/alive", None, request_id=page.request_id).ok
            return Response("ok" if up else "gateway unavailable", status=200 if up else 503)
        public = {"signin", "oidc_login", "oidc_callback"}
        if endpoint not in public and page.staff is None:
            if page.request.cookies.get(identity.COOKIE):
                # The session ended (expired or signed out): say so on the sign-in page.
                return redirect(
                    page.url("/signin", expired=1, next=page.request.full_path.rstrip("?"))
                )
            return redirect(page.url("/signin", next=page.request.full_path.rstrip("?")))
        if page.request.method == "POST" and not identity.csrf_ok(
            page.session, page.request.form.get("csrf_token")
        ):
            return page.render(
                "error.html", status=400, message="表单已失效（CSRF 校验失败），请刷新页面后重试。"
            )
        handler: Callable = getattr(self, f"page_{endpoint}")
        response = handler(page, **args)
        if isinstance(response, Answer):  # an API error the page does not handle itself
            return self.api_error(page, response)
        return response

    def api_error(self, page: Page, answer: Answer) -> Response:
        if answer.status == 401:
            page.session = self.sessions.anonymous()
            page.session_changed = True
            return redirect("/signin?expired=1")
        status = answer.status if 400 <= answer.status < 600 else 502
        return page.render("error.html", status=status, message=answer.message, answer=answer)

    # ---- signing in and out ----------------------------------------------------------------

    def page_signin(self, page: Page) -> Response:
        errors: dict = {}
        form = page.request.form
        if page.request.method == "POST":
            try:
                claims = identity.development_claims(self.settings, form)
            except FieldErrors as exc:
                errors = exc.fields
            except SignInRefused as exc:
                return page.render(
                    "signin.html", status=403, errors={}, refused=str(exc), form=form
                )
            else:
                page.session = self.sessions.sign_in(claims)
                page.session_changed = True
                return redirect(safe_next(form.get("next")))
        return page.render(
            "signin.html",
            status=400 if errors else 200,
            errors=errors,
            form=form,
            roles=ROLES,
            next=page.request.args.get("next") or form.get("next") or "/",
            expired=page.request.args.get("expired"),
            oidc=self.oidc is not None,
        )

    def page_signout(self, page: Page) -> Response:
        self.sessions.forget(page.session)
        page.session = self.sessions.anonymous()
        page.session_changed = True
        return redirect("/signin?signed_out=1")

    def page_oidc_login(self, page: Page) -> Response:
        if self.oidc is None:
            raise NotFound()
        url, pending = self.oidc.begin()
        page.session["oidc"] = pending
        page.session["oidc_next"] = safe_next(page.request.args.get("next"))
        page.session_changed = True
        return redirect(url)

    def page_oidc_callback(self, page: Page) -> Response:
        if self.oidc is None:
            raise NotFound()
        pending = page.session.pop("oidc", None)
        page.session_changed = True
        try:
            id_token = self.oidc.finish(pending, page.request.args.to_dict())
            claims = identity.verify_id_token(
                self.settings, id_token, self.oidc.jwks(), pending["nonce"]
            )
            staff = identity.claims_from_id_token(self.settings, claims)
        except SignInRefused as exc:
            return page.render("signin.html", status=403, errors={}, refused=str(exc), form={})
        destination = page.session.get("oidc_next") or "/"
        page.session = self.sessions.sign_in(staff)
        return redirect(safe_next(destination))

    # ---- dashboard -------------------------------------------------------------------------

    def page_dashboard(self, page: Page) -> Response:
        year = dashboard_year(page.request.args.get("year"))
        panels: dict[str, dict] = {}
        if page.offers("mutual_aid.figures"):
            answer = page.api("GET", f"/api/v1/mutual-aid/periods/{year - FIRST_PERIOD_YEAR}/stats")
            panels["mutual_aid"] = {"answer": answer, "data": answer.body if answer.ok else None}
        if page.offers("student_aid.figures"):
            answer = page.api("GET", f"/api/v1/student-aid/campaigns/{year}/stats")
            campaign = page.api("GET", f"/api/v1/student-aid/campaigns/{year}")
            panels["student_aid"] = {
                "answer": answer,
                "data": answer.body if answer.ok else None,
                "campaign": campaign.body if campaign.ok else None,
            }
        if page.offers("jobs.figures"):
            answer = page.api(
                "GET", "/api/v1/jobs/stats", params={"from": f"{year}-01-01", "to": f"{year}-12-31"}
            )
            panels["jobs"] = {"answer": answer, "data": answer.body if answer.ok else None}
        charts = dashboard_charts(panels)
        return page.render("dashboard.html", year=year, panels=panels, charts=charts)

    def page_households(self, page: Page) -> Response:
        """The dashboard's households panel, fetched after first paint (htmx, or a link)."""
        answer = page.api("GET", "/api/v1/dossiers/stats")
        panel: dict = {"answer": answer, "data": answer.body if answer.ok else None}
        charts = dashboard_charts({"dossiers": panel})
        template = (
            "households.html" if page.request.headers.get("HX-Request") else "households_page.html"
        )
        return page.render(template, dossiers=panel, charts=charts)

    def page_jobs_months(self, page: Page) -> Response:
        """Fairs, intents and hires month by month (the jobs figures of each month's dates),
        fetched after first paint: twelve calls of the one jobs figures endpoint."""
        year = dashboard_year(page.request.args.get("year"))
        months, error = [], None
        for month in range(1, 13):
            last = calendar.monthrange(year, month)[1]
            answer = page.api(
                "GET",
                "/api/v1/jobs/stats",
                params={"from": f"{year}-{month:02d}-01", "to": f"{year}-{month:02d}-{last:02d}"},
            )
            if not answer.ok:
                error = answer.message
                break
            months.append(
                {
                    "month": month,
                    "fairs": sum(answer.body["fairs"].values()),
                    "intents": answer.body["intents"],
                    "hires": answer.body["hires"],
                }
            )
        panel = {"months": months if error is None else None, "error": error}
        charts = dashboard_charts({"jobs_months": panel})
        template = (
            "jobs_months.html"
            if page.request.headers.get("HX-Request")
            else "jobs_months_page.html"
        )
        return page.render(template, year=year, panel=panel, charts=charts)

    # ---- mutual aid: review queue and claims -----------------------------------------------

    def page_review_queue(self, page: Page) -> Response:
        answer = page.api("GET", "/api/v1/mutual-aid/review-queue")
        if not answer.ok:
            return answer
        items, pager = paginate(answer.body["claims"], page.request.args.get("page"))
        return page.render("review_queue.html", claims=items, pager=pager)

    def page_claim_lookup(self, page: Page) -> Response:
        claim_id = (page.request.args.get("claim_id") or "").strip()
        if claim_id:
            return redirect(f"/claims/{claim_id}")
        return redirect("/review")

    def page_claim(self, page: Page, claim_id: str, errors=None, form=None, flash=None) -> Response:
        answer = page.api("GET", f"/api/v1/mutual-aid/claims/{claim_id}")
        if not answer.ok:
            return answer
        queued = None
        if page.offers("mutual_aid.review_queue"):
            queue = page.api("GET", "/api/v1/mutual-aid/review-queue")
            if queue.ok:
                queued = next((c for c in queue.body["claims"] if c["claim_id"] == claim_id), None)
        audit = None
        if page.offers("mutual_aid.audit_log"):
            found = page.api("GET", f"/api/v1/mutual-aid/claims/{claim_id}/audit")
            audit = found.body["entries"] if found.ok else None
        return page.render(
            "claim.html",
            status=400 if errors else 200,
            claim=answer.body,
            queued=queued,
            audit=audit,
            errors=errors or {},
            form=form or {},
            flash=flash,
        )

    def page_claim_review(self, page: Page, claim_id: str) -> Response:
        form = page.request.form
        body = {"decision": form.get("decision"), "note": form.get("note", "")}
        if form.get("amount", "").strip():
            body["amount"] = form["amount"].strip()
        answer = page.api("POST", f"/api/v1/mutual-aid/claims/{claim_id}/reviews", json=body)
        if answer.ok:
            return redirect(f"/claims/{claim_id}?reviewed={answer.body['status']}")
        if answer.status in (400, 409, 422):
            errors = answer.fields or {"_": answer.message}
            errors.setdefault("_", answer.message)
            return self.page_claim(page, claim_id, errors=errors, form=form)
        return answer

    # ---- dossiers --------------------------------------------------------------------------

    def page_dossiers(self, page: Page) -> Response:
        args = page.request.args
        filters = {k: args.get(k) or None for k in ("county", "status", "tier")}
        number = page_number(args.get("page"))
        # One page from the API (and one more dossier, to know whether a next page exists).
        answer = page.api(
            "GET",
            "/api/v1/dossiers",
            params={**filters, "limit": PAGE_SIZE + 1, "offset": (number - 1) * PAGE_SIZE},
        )
        if not answer.ok and answer.status != 400:
            return answer
        dossiers = answer.body["dossiers"] if answer.ok else []
        pager = {
            "page": number,
            "previous": number > 1,
            "next": len(dossiers) > PAGE_SIZE,
            "shown": min(len(dossiers), PAGE_SIZE),
        }
        return page.render(
            "dossiers.html",
            dossiers=dossiers[:PAGE_SIZE],
            pager=pager,
            filters=filters,
            errors=answer.fields if not answer.ok else {},
            error=None if answer.ok else answer.message,
            statuses=list(STATUS_NAMES)[:5],
            tiers=TIERS,
        )

    def page_dossier_new(self, page: Page) -> Response:
        form = page.request.form
        if page.request.method == "GET":
            default_county = page.staff.org[:5] if orgs.is_known(page.staff.org[:5]) else ""
            return page.render(
                "dossier_new.html", form={"county": default_county}, errors={}, **intake_vocab()
            )
        body = intake_body(form)
        answer = page.api("POST", "/api/v1/dossiers", json=body)
        if answer.ok:
            return redirect(f"/dossiers/{answer.body['dossier_id']}?created=1")
        if answer.status in (400, 403, 409, 422):
            errors = answer.fields
            errors.setdefault("_", answer.message)
            return page.render(
                "dossier_new.html", status=answer.status, form=form, errors=errors, **intake_vocab()
            )
        return answer

    def page_dossier_preview(self, page: Page) -> Response:
        """The proposed tier and its trace as staff type (htmx posts the form on change)."""
        answer = page.api(
            "POST", "/api/v1/dossiers/proposals/preview", json=intake_body(page.request.form)
        )
        return page.render(
            "dossier_preview.html",
            preview=answer.body if answer.ok else None,
            missing=sorted(answer.fields) if answer.status == 400 else [],
            error=None if answer.ok or answer.status == 400 else answer.message,
        )

    def page_dossier(self, page: Page, dossier_id: str, errors=None, flash=None) -> Response:
        reveal = page.request.args.get("reveal") == "ids"
        answer = page.api(
            "GET", f"/api/v1/dossiers/{dossier_id}", params={"reveal": "ids" if reveal else None}
        )
        if not answer.ok:
            return answer
        return page.render(
            "dossier.html",
            status=400 if errors else 200,
            dossier=answer.body,
            revealed=reveal,
            errors=errors or {},
            flash=flash or page.request.args.get("done"),
            created=page.request.args.get("created"),
            tiers=TIERS,
            exit_reasons=STAFF_EXIT_REASONS,
            relations=RELATIONS,
            today=today(),
        )

    def page_dossier_act(self, page: Page, dossier_id: str, action: str) -> Response:
        form = page.request.form
        if action == "confirm":
            body = {"tier": form.get("tier") or None}
        elif action == "exit":
            body = {"reason": form.get("reason")}
        elif action == "transfer":
            body = {"county": form.get("county"), "org": form.get("org", "").strip()}
        elif action == "visits":
            body = {
                "visit_date": form.get("visit_date"),
                "visitor": form.get("visitor", "").strip(),
                "findings": form.get("findings", "").strip(),
            }
            members = []
            for index in range(MEMBER_ROWS * 3):
                id_number = form.get(f"members.{index}.id_number")
                income = form.get(f"members.{index}.monthly_income", "").strip()
                if id_number and income:
                    members.append({"id_number": id_number, "monthly_income": income})
            if members:
                body["members"] = members
            if form.get("months_below_line", "").strip():
                body["months_below_line"] = to_int(form["months_below_line"])
        else:
            raise NotFound()
        answer = page.api("POST", f"/api/v1/dossiers/{dossier_id}/{action}", json=body)
        if answer.ok:
            return redirect(f"/dossiers/{dossier_id}?done={action}")
        if answer.status in (400, 409, 422):
            errors = {f"{action}.{k}": v for k, v in answer.fields.items()}
            errors[action] = answer.message
            return self.page_dossier(page, dossier_id, errors=errors)
        return answer

    def page_visit_confirm(self, page: Page, dossier_id: str, visit_id: str) -> Response:
        body = {"accept": page.request.form.get("accept") == "true"}
        answer = page.api(
            "POST", f"/api/v1/dossiers/{dossier_id}/visits/{visit_id}/confirm", json=body
        )
        if answer.ok:
            return redirect(f"/dossiers/{dossier_id}?done=visit_decided")
        if answer.status in (400, 409, 422):
            return self.page_dossier(page, dossier_id, errors={"visit_confirm": answer.message})
        return answer

    def page_overdue(self, page: Page) -> Response:
        args = page.request.args
        campaign_id = (args.get("campaign_id") or "").strip()
        result, error, errors = None, None, {}
        if campaign_id:
            answer = page.api(
                "GET",
                f"/api/v1/verification-campaigns/{campaign_id}/overdue",
                params={"county": args.get("county")},
            )
            if answer.ok:
                result = answer.body
            else:
                error, errors = answer.message, answer.fields
        return page.render(
            "overdue.html",
            campaign_id=campaign_id,
            county=args.get("county") or "",
            result=result,
            error=error,
            errors=errors,
        )

    # ---- student aid -----------------------------------------------------------------------

    def page_student_aid(self, page: Page, errors=None, flash=None, status=200) -> Response:
        args = page.request.args
        year_text = args.get("year") or today()[:4]
        year = int(year_text) if year_text.isdigit() else 2018
        campaign = page.api("GET", f"/api/v1/student-aid/campaigns/{year}")
        stats = (
            page.api("GET", f"/api/v1/student-aid/campaigns/{year}/stats")
            if page.offers("student_aid.figures")
            else None
        )
        notice = page.api("GET", f"/api/v1/student-aid/campaigns/{year}/notice")
        return page.render(
            "student_aid.html",
            status=status,
            year=year,
            campaign=campaign.body if campaign.ok else None,
            campaign_error=None if campaign.ok else campaign.message,
            stats=stats.body if stats is not None and stats.ok else None,
            notice=notice.body if notice.ok else None,
            errors=errors or {},
            flash=flash or args.get("done"),
            batch=None,
            today=today(),
        )

    def page_student_aid_act(self, page: Page, year: int, action: str) -> Response:
        form = page.request.form
        paths = {
            "approvals": (f"/api/v1/student-aid/campaigns/{year}/approvals", {}),
            "notice": (
                f"/api/v1/student-aid/campaigns/{year}/notice",
                {"published_on": form.get("published_on") or None},
            ),
            "disbursements": (
                f"/api/v1/student-aid/campaigns/{year}/disbursements",
                {"disbursed_on": form.get("disbursed_on") or None},
            ),
        }
        if action not in paths:
            raise NotFound()
        path, body = paths[action]
        answer = page.api("POST", path, json={k: v for k, v in body.items() if v})
        if answer.ok and action == "disbursements":
            return page.render("disbursement.html", year=year, batch=answer.body)
        if answer.ok:
            return redirect(f"/student-aid?year={year}&done={action}")
        if answer.status in (400, 403, 409, 422):
            errors = {f"{action}.{k}": v for k, v in answer.fields.items()}
            errors[action] = answer.message
            page.request.args = page.request.args.copy()
            page.request.args = type(page.request.args)({"year": str(year)})
            return self.page_student_aid(page, errors=errors, status=answer.status)
        return answer

    def page_application_new(self, page: Page) -> Response:
        """A staff member takes a student's application (API.md: staff and the city portal
        end in the same record); the answer shows eligibility and its trace at once."""
        form = page.request.form
        if page.request.method == "GET":
            return page.render(
                "application_new.html", form={"campaign": today()[:4]}, errors={}, **AID_VOCAB
            )
        body = {
            "campaign": to_int(form.get("campaign")),
            "student_id_number": form.get("student_id_number", "").strip(),
            "student_name": form.get("student_name", "").strip(),
            "parent_id_number": form.get("parent_id_number", "").strip(),
            "education_level": form.get("education_level", ""),
            "school": form.get("school", "").strip(),
            "school_kind": form.get("school_kind", ""),
            "aided_elsewhere": form.get("aided_elsewhere") == "on",
            "migrant_hardship_certified_by": form.get("migrant_hardship_certified_by", "").strip()
            or None,
        }
        if form.get("applied_on", "").strip():
            body["applied_on"] = form["applied_on"].strip()
        answer = page.api("POST", "/api/v1/student-aid/applications", json=body)
        if answer.ok:
            return redirect(
                f"/student-aid/applications/{answer.body['application_id']}?done=submitted"
            )
        if answer.status in (400, 403, 409, 422):
            errors = answer.fields
            errors.setdefault("_", answer.message)
            return page.render(
                "application_new.html", status=answer.status, form=form, errors=errors, **AID_VOCAB
            )
        return answer

    def page_application_lookup(self, page: Page) -> Response:
        application_id = (page.request.args.get("application_id") or "").strip()
        if application_id:
            return redirect(f"/student-aid/applications/{application_id}")
        return redirect("/student-aid")

    def page_application(self, page: Page, application_id: str, errors=None) -> Response:
        answer = page.api("GET", f"/api/v1/student-aid/applications/{application_id}")
        if not answer.ok:
            return answer
        return page.render(
            "application.html",
            status=400 if errors else 200,
            application=answer.body,
            errors=errors or {},
            flash=page.request.args.get("done"),
        )

    def page_application_act(self, page: Page, application_id: str, action: str) -> Response:
        form = page.request.form
        if action == "objections":
            path = f"/api/v1/student-aid/applications/{application_id}/objections"
            body = {"note": form.get("note", "").strip()}
        elif action == "decision":
            objection = form.get("objection_id", "").strip()
            path = (
                f"/api/v1/student-aid/applications/{application_id}/objections/{objection}/decision"
            )
            body = {"upheld": form.get("upheld") == "true"}
        else:
            raise NotFound()
        answer = page.api("POST", path, json=body)
        if answer.ok:
            done = action
            if action == "objections" and isinstance(answer.body, dict):
                done = f"objection {answer.body.get('objection_id', '')}"
            return redirect(f"/student-aid/applications/{application_id}?done={done}")
        if answer.status in (400, 404, 409, 422):
            errors = {f"{action}.{k}": v for k, v in answer.fields.items()}
            errors[action] = answer.message
            return self.page_application(page, application_id, errors=errors)
        return answer

    def page_disbursement_file(self, page: Page, batch_id: str) -> Response:
        return self.download(page, f"/api/v1/student-aid/disbursements/{batch_id}/file", batch_id)

    def page_disbursement_confirm(self, page: Page, batch_id: str) -> Response:
        answer = page.api("POST", f"/api/v1/student-aid/disbursements/{batch_id}/confirm")
        if answer.ok:
            return page.render("disbursement.html", year=None, batch=answer.body, confirmed=True)
        if answer.status in (409, 422):
            return page.render(
                "disbursement.html",
                status=answer.status,
                year=None,
                batch={"batch_id": batch_id},
                error=answer.message,
            )
        return answer

    # ---- finance ---------------------------------------------------------------------------

    def page_finance(self, page: Page) -> Response:
        if page.request.method == "GET":
            return page.render(
                "finance.html", batch=None, errors={}, month=page.request.args.get("month", "")
            )
        month = page.request.form.get("month", "").strip()
        answer = page.api("POST", "/api/v1/mutual-aid/payout-batches", json={"month": month})
        if answer.ok:
            return page.render(
                "finance.html",
                batch=answer.body,
                created=answer.status == 201,
                errors={},
                month=month,
            )
        if answer.status in (400, 403, 409, 422):
            errors = answer.fields
            errors.setdefault("_", answer.message)
            return page.render(
                "finance.html", status=answer.status, batch=None, errors=errors, month=month
            )
        return answer

    def page_condolence(self, page: Page) -> Response:
        """The festival condolence batch (两节慰问) of the caller's scope: run it, and watch it
        pay (htmx polls its progress while the run's own request is under way)."""
        fragment = bool(page.request.headers.get("HX-Request"))
        if page.request.method == "GET":
            festival = (page.request.args.get("festival") or "").strip()
            batch, progress_error = None, None
            if FESTIVAL.match(festival):
                answer = page.api("GET", f"/api/v1/condolence-batches/{festival}")
                if answer.ok:
                    batch = answer.body
                elif answer.status != 404:
                    progress_error = answer.message
            return page.render(
                "condolence.html",
                form={"festival": festival, "fund": ""},
                errors={},
                batch=batch,
                progress_error=progress_error,
                result=None,
            )
        form = {k: page.request.form.get(k, "").strip() for k in ("festival", "fund")}
        answer = page.api(
            "POST", "/api/v1/condolence-batches", json=form, timeout=CONDOLENCE_TIMEOUT_SECONDS
        )
        if not answer.ok and answer.status not in (400, 403, 409, 422):
            return answer
        errors = {}
        if not answer.ok:
            errors = answer.fields
            errors.setdefault("_", answer.message)
        context = {
            "form": form,
            "errors": errors,
            "batch": answer.body if answer.ok else None,
            "progress_error": None,
            "result": answer.body if answer.ok else None,
        }
        status = 200 if answer.ok else answer.status
        if fragment:
            # htmx swaps only 2xx answers in: a refusal is answered 200 to be shown all the same.
            response = page.render("condolence_work.html", **context)
            if answer.ok:  # the batch's own address: a reload shows where it stands
                response.headers["HX-Push-Url"] = page.url("/condolence", festival=form["festival"])
            return response
        return page.render("condolence.html", status=status, **context)

    def page_condolence_progress(self, page: Page) -> Response:
        """One poll of a batch's progress: polls again while it pays, stops once it is paid."""
        festival = (page.request.args.get("festival") or "").strip()
        batch, progress_error = None, None
        if not FESTIVAL.match(festival):
            progress_error = "请先填写节日（如 2019-spring）。"
        else:
            answer = page.api("GET", f"/api/v1/condolence-batches/{festival}")
            if answer.ok:
                batch = answer.body
            elif answer.status != 404:  # 404: the run is still listing its households
                progress_error = answer.message
        return page.render(
            "condolence_progress.html",
            festival=festival,
            batch=batch,
            progress_error=progress_error,
            waiting=batch is None and progress_error is None,
        )

    def page_payout_file(self, page: Page, batch_id: str) -> Response:
        return self.download(page, f"/api/v1/mutual-aid/payout-batches/{batch_id}/file", batch_id)

    def page_payout_confirm(self, page: Page, batch_id: str) -> Response:
        answer = page.api("POST", f"/api/v1/mutual-aid/payout-batches/{batch_id}/confirm")
        if answer.ok:
            return page.render(
                "finance.html", batch=answer.body, confirmed=True, errors={}, month=""
            )
        if answer.status in (403, 409, 422):
            return page.render(
                "finance.html",
                status=answer.status,
                batch={
                    "batch_id": batch_id,
                    **(
                        answer.body
                        if isinstance(answer.body, dict) and "batch_id" in answer.body
                        else {}
                    ),
                },
                errors={"confirm": answer.message},
                month="",
            )
        return answer

    def download(self, page: Page, path: str, name: str) -> Response:
        answer = page.api("GET", path)
        if not answer.ok:
            return answer
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:80]
        return Response(
            answer.content,
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'},
        )

    # ---- jobs --------------------------------------------------------------------------------

    def page_jobs(self, page: Page, errors=None, status=200) -> Response:
        args = page.request.args
        year = today()[:4]
        filters = {
            "from": args.get("from") or f"{year}-01-01",
            "to": args.get("to") or today(),
            "county": args.get("county") or "",
            "due_before": args.get("due_before") or "",
        }
        stats, stats_error = None, None
        if page.offers("jobs.figures"):
            answer = page.api(
                "GET", "/api/v1/jobs/stats", params={"from": filters["from"], "to": filters["to"]}
            )
            stats, stats_error = (answer.body, None) if answer.ok else (None, answer.message)
        follow_ups = page.api(
            "GET",
            "/api/v1/jobs/follow-ups",
            params={"county": filters["county"], "due_before": filters["due_before"]},
        )
        incomplete = page.api(
            "GET",
            "/api/v1/jobs/seekers",
            params={"status": "incomplete", "county": filters["county"]},
        )
        items, pager = paginate(
            follow_ups.body["follow_ups"] if follow_ups.ok else [], args.get("page")
        )
        return page.render(
            "jobs.html",
            status=status,
            filters=filters,
            stats=stats,
            stats_error=stats_error,
            follow_ups=items,
            follow_ups_error=None if follow_ups.ok else follow_ups.message,
            query_errors={**follow_ups.fields, **incomplete.fields},
            pager=pager,
            incomplete=incomplete.body["seekers"] if incomplete.ok else [],
            errors=errors or {},
            flash=args.get("done"),
            today=today(),
        )

    def page_jobs_lookup(self, page: Page) -> Response:
        kind = page.request.args.get("kind")
        ident = (page.request.args.get("id") or "").strip()
        if kind in ("seekers", "vacancies", "fairs") and ident:
            return redirect(f"/jobs/{kind}/{ident}")
        return redirect("/jobs")

    def page_seeker(self, page: Page, seeker_id: str) -> Response:
        answer = page.api("GET", f"/api/v1/jobs/seekers/{seeker_id}")
        if not answer.ok:
            return answer
        matches = page.api("GET", f"/api/v1/jobs/seekers/{seeker_id}/matches", params={"limit": 20})
        return page.render(
            "job_matches.html",
            kind="seeker",
            record=answer.body,
            matches=matches.body if matches.ok else None,
            matches_error=None if matches.ok else matches.message,
        )

    def page_vacancy(self, page: Page, vacancy_id: str) -> Response:
        answer = page.api("GET", f"/api/v1/jobs/vacancies/{vacancy_id}")
        if not answer.ok:
            return answer
        matches = page.api(
            "GET", f"/api/v1/jobs/vacancies/{vacancy_id}/matches", params={"limit": 20}
        )
        return page.render(
            "job_matches.html",
            kind="vacancy",
            record=answer.body,
            matches=matches.body if matches.ok else None,
            matches_error=None if matches.ok else matches.message,
        )

    def page_fair(self, page: Page, fair_id: str) -> Response:
        answer = page.api("GET", f"/api/v1/jobs/fairs/{fair_id}")
        if not answer.ok:
            return answer
        return page.render("fair.html", fair=answer.body, flash=page.request.args.get("done"))

    def page_jobs_act(self, page: Page, action: str) -> Response:
        form = page.request.form
        if action == "fairs":
            path = "/api/v1/jobs/fairs"
            body = {k: form.get(k, "").strip() for k in ("kind", "name", "date", "county")}
        elif action == "registrations":
            fair_id = form.get("fair_id", "").strip()
            path = f"/api/v1/jobs/fairs/{fair_id}/registrations"
            who = form.get("who", "seeker_id")
            body = {
                who if who in ("seeker_id", "employer_id") else "seeker_id": form.get(
                    "ident", ""
                ).strip()
            }
        elif action == "intents":
            path = "/api/v1/jobs/intents"
            body = {
                "seeker_id": form.get("seeker_id", "").strip(),
                "vacancy_id": form.get("vacancy_id", "").strip(),
                "fair_id": form.get("fair_id", "").strip() or None,
            }
            if form.get("agreed_on"):
                body["agreed_on"] = form["agreed_on"]
        elif action == "hire":
            path = f"/api/v1/jobs/intents/{form.get('intent_id', '').strip()}/hire"
            body = {"hired_on": form.get("hired_on")} if form.get("hired_on") else {}
        elif action == "follow-ups":
            path = f"/api/v1/jobs/intents/{form.get('intent_id', '').strip()}/follow-ups"
            body = {
                "day": to_int(form.get("day")),
                "still_employed": form.get("still_employed") == "true",
                "note": form.get("note", "").strip(),
            }
        else:
            raise NotFound()
        answer = page.api("POST", path, json=body)
        if answer.ok:
            done = action
            if isinstance(answer.body, dict):
                ident = next(
                    (
                        answer.body[k]
                        for k in ("fair_id", "intent_id", "registration_id")
                        if k in answer.body
                    ),
                    "",
                )
                done = f"{action} {ident}".strip()
            if action == "registrations":
                return redirect(
                    f"/jobs/fairs/{body and form.get('fair_id', '').strip()}?done={done}"
                )
            return redirect(f"/jobs?done={done}")
        if answer.status in (400, 403, 404, 409, 422):
            errors = {f"{action}.{k}": v for k, v in answer.fields.items()}
            errors[action] = answer.message
            return self.page_jobs(page, errors=errors, status=answer.status)
        return answer

    # ---- operations ------------------------------------------------------------------------

    def page_operations(self, page: Page, errors=None) -> Response:
        args = page.request.args
        health = page.console.gateway.call("GET", "/health", None, request_id=page.request_id)
        service = args.get("service") or None
        letter_status = args.get("status") or "parked"
        letters = None
        letters_error = None
        if page.offers("dead_letters.manage"):
            answer = page.api(
                "GET", "/api/v1/dead-letters", params={"service": service, "status": letter_status}
            )
            if answer.ok:
                letters = answer.body["dead_letters"]
            else:
                letters_error = answer.message
        ref = (args.get("ref") or "").strip()
        deliveries, deliveries_error = None, None
        if ref:
            answer = page.api("GET", "/api/v1/notifications/deliveries", params={"ref": ref})
            if answer.ok:
                deliveries = answer.body["deliveries"]
            else:
                deliveries_error = answer.message
        items, pager = paginate(letters or [], args.get("page"))
        return page.render(
            "operations.html",
            health=health.body if isinstance(health.body, dict) else None,
            health_status=health.status,
            letters=items if letters is not None else None,
            pager=pager,
            letters_error=letters_error,
            service=service or "",
            letter_status=letter_status,
            services=SERVICES_WITH_DEAD_LETTERS,
            ref=ref,
            deliveries=deliveries,
            deliveries_error=deliveries_error,
            errors=errors or {},
            flash=args.get("done"),
        )

    def page_replay(self, page: Page, service: str, letter_id: str) -> Response:
        answer = page.api("POST", f"/api/v1/dead-letters/{service}/{letter_id}/replay")
        if answer.ok:
            return redirect(f"/operations?service={service}&done=replayed")
        if answer.status in (404, 409, 422):
            return self.page_operations(page, errors={"replay": answer.message})
        return answer

    # ---- audit -----------------------------------------------------------------------------

    def page_audit(self, page: Page) -> Response:
        args = page.request.args
        filters = {
            k: (args.get(k) or "").strip()
            for k in ("action", "target", "actor", "from", "to", "claim_id", "year")
        }
        entries, error, errors = None, None, {}
        if page.offers("dossiers.audit_log"):
            # The API narrows by every filter itself, so the 1,000 newest are the 1,000 newest
            # of what the auditor asked for.
            answer = page.api(
                "GET",
                "/api/v1/audit-log",
                params={
                    **{k: filters[k] for k in ("action", "target", "actor", "from", "to")},
                    "limit": AUDIT_LOG_LIMIT,
                },
            )
            if answer.ok:
                entries = answer.body["entries"]
            else:
                error, errors = answer.message, answer.fields
        claim_audit, claim_error = None, None
        if filters["claim_id"] and page.offers("mutual_aid.audit_log"):
            answer = page.api("GET", f"/api/v1/mutual-aid/claims/{filters['claim_id']}/audit")
            if answer.ok:
                claim_audit = [e for e in answer.body["entries"] if audit_match(e, filters)]
            else:
                claim_error = answer.message
        campaign_audit, campaign_error = None, None
        if filters["year"].isdigit() and page.offers("student_aid.audit_log"):
            answer = page.api("GET", f"/api/v1/student-aid/campaigns/{filters['year']}/audit")
            if answer.ok:
                campaign_audit = [e for e in answer.body["entries"] if audit_match(e, filters)]
            else:
                campaign_error = answer.message
        items, pager = paginate(entries or [], args.get("page"))
        return page.render(
            "audit.html",
            filters=filters,
            entries=items if entries is not None else None,
            pager=pager,
            error=error,
            errors=errors,
            claim_audit=claim_audit,
            claim_error=claim_error,
            campaign_audit=campaign_audit,
            campaign_error=campaign_error,
        )


def fen_to_yuan(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        sign = "-" if value < 0 else ""
        return f"{sign}{abs(value) // 100}.{abs(value) % 100:02d}"
    return "—" if value is None else str(value)


def merge_page(params: dict, number: int) -> str:
    """The list's filters with another page number: filters stay in the URL."""
    return urlencode({**{k: v for k, v in params.items() if v}, "page": number})


def audit_match(entry: dict, filters: dict) -> bool:
    """Actor and days over the whole audit of one claim or one campaign (the API answers it
    unnarrowed; the dossier audit log is narrowed by the API itself)."""
    actor = entry.get("actor") or entry.get("by") or ""
    if filters.get("actor") and filters["actor"] != actor:  # the staff id exactly, as the API
        return False
    at = str(entry.get("at") or "")[:10]
    if filters.get("from") and at < filters["from"]:
        return False
    return not (filters.get("to") and at > filters["to"])


def safe_next(target: str | None) -> str:
    """Only a path of ours: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def to_int(text: str | None):
    text = (text or "").strip()
    return int(text) if re.fullmatch(r"-?[0-9]{1,6}", text) else text


def intake_vocab() -> dict:
    return {
        "categories": CATEGORIES,
        "causes": CAUSES,
        "relations": RELATIONS,
        "member_rows": range(MEMBER_ROWS),
    }


def intake_body(form) -> dict:
    """The household as API.md's POST /api/v1/dossiers takes it, from the intake form."""
    members = []
    head = None
    for index in range(MEMBER_ROWS):
        name = form.get(f"members.{index}.name", "").strip()
        id_number = form.get(f"members.{index}.id_number", "").strip()
        if not name and not id_number:
            continue
        relation = form.get(f"members.{index}.relation") or "other"
        if relation == "self" and head is None:
            head = id_number
        members.append(
            {
                "id_number": id_number,
                "name": name,
                "relation": relation,
                "monthly_income": form.get(f"members.{index}.monthly_income", "").strip() or "0.00",
                "health": form.get(f"members.{index}.health", "").strip() or None,
                "school": form.get(f"members.{index}.school", "").strip() or None,
            }
        )
    body = {
        "county": form.get("county", ""),
        "org": form.get("org", "").strip(),
        "category": form.get("category", ""),
        "head_id_number": head or "",
        "employment_status": form.get("employment_status", "").strip(),
        "employer": form.get("employer", "").strip() or None,
        "members": members,
        "monthly_rigid_expenditure": form.get("monthly_rigid_expenditure", "").strip() or "0.00",
        "months_below_line": to_int(form.get("months_below_line")),
        "causes": form.getlist("causes"),
        "assets": {
            "homes": to_int(form.get("homes") or "0"),
            "owns_business": form.get("owns_business") == "on",
            "private_school_or_abroad": form.get("private_school_or_abroad") == "on",
            "non_work_vehicle": form.get("non_work_vehicle") == "on",
        },
        "address": form.get("address", "").strip(),
        "phone": form.get("phone", "").strip() or None,
    }
    if form.get("intake_date", "").strip():
        body["intake_date"] = form["intake_date"].strip()
    return body


def dashboard_charts(panels: dict) -> dict[str, dict]:
    """ECharts options (plain data, rendered by static/console.js) beside their tables: each
    chart draws figures the API answered, and the page prints the same figures in a table."""
    charts = {}
    county_names = dict(orgs.tree().counties)
    mutual = (panels.get("mutual_aid") or {}).get("data")
    if mutual:
        counties = sorted(mutual["by_county"])
        charts["mutual_aid"] = {
            "tooltip": {"trigger": "axis"},
            "legend": {"data": ["人次", "核准金额（元）"]},
            "xAxis": {"type": "category", "data": [county_names.get(c, c) for c in counties]},
            "yAxis": [{"type": "value", "name": "人次"}, {"type": "value", "name": "元"}],
            "series": [
                {
                    "name": "人次",
                    "type": "bar",
                    "data": [mutual["by_county"][c]["person_times"] for c in counties],
                },
                {
                    "name": "核准金额（元）",
                    "type": "bar",
                    "yAxisIndex": 1,
                    "data": [
                        money_to_float(mutual["by_county"][c]["approved_total"]) for c in counties
                    ],
                },
            ],
        }
        months = sorted(mutual.get("by_month") or {})
        if months:
            by_month = mutual["by_month"]
            month_counties = sorted({c for m in months for c in by_month[m]["by_county"]})
            charts["mutual_aid_months"] = {
                "tooltip": {"trigger": "axis"},
                "legend": {
                    "data": [county_names.get(c, c) for c in month_counties] + ["核准金额（元）"]
                },
                "xAxis": {"type": "category", "data": months},
                "yAxis": [{"type": "value", "name": "人次"}, {"type": "value", "name": "元"}],
                "series": [
                    {
                        "name": county_names.get(c, c),
                        "type": "bar",
                        "stack": "county",
                        "data": [
                            by_month[m]["by_county"].get(c, {}).get("person_times", 0)
                            for m in months
                        ],
                    }
                    for c in month_counties
                ]
                + [
                    {
                        "name": "核准金额（元）",
                        "type": "line",
                        "yAxisIndex": 1,
                        "data": [money_to_float(by_month[m]["approved_total"]) for m in months],
                    }
                ],
            }
    student = (panels.get("student_aid") or {}).get("data")
    if student:
        levels = [lv for lv in LEVEL_NAMES if lv in (student.get("by_level") or {})]
        budget = (panels["student_aid"].get("campaign") or {}).get("budget")
        charts["student_aid"] = {
            "tooltip": {"trigger": "axis"},
            "legend": {"data": [LEVEL_NAMES[lv] for lv in levels] + ["预算"]},
            "xAxis": {"type": "value", "name": "元"},
            "yAxis": {"type": "category", "data": ["核准资助", "预算"]},
            "series": [
                {
                    "name": LEVEL_NAMES[lv],
                    "type": "bar",
                    "stack": "awards",
                    "data": [money_to_float(student["by_level"][lv].get("approved_total")), None],
                }
                for lv in levels
            ]
            + [
                {
                    "name": "预算",
                    "type": "bar",
                    "stack": "awards",
                    "data": [None, money_to_float(budget) if budget else None],
                }
            ],
        }
    dossiers = (panels.get("dossiers") or {}).get("data")
    if dossiers and dossiers.get("by_county"):
        counties = sorted(dossiers["by_county"])
        charts["dossiers"] = {
            "tooltip": {"trigger": "axis"},
            "legend": {"data": [TIER_NAMES[t] for t in TIERS]},
            "xAxis": {"type": "category", "data": [county_names.get(c, c) for c in counties]},
            "yAxis": {"type": "value", "name": "户"},
            "series": [
                {
                    "name": TIER_NAMES[t],
                    "type": "bar",
                    "stack": "tier",
                    "data": [dossiers["by_county"][c][t] for c in counties],
                }
                for t in TIERS
            ],
        }
    jobs = (panels.get("jobs") or {}).get("data")
    if jobs:
        counties = sorted(jobs.get("by_county") or {})
        charts["jobs"] = {
            "tooltip": {"trigger": "axis"},
            "legend": {"data": ["招聘会", "就业意向", "录用"]},
            "xAxis": {"type": "category", "data": [county_names.get(c, c) for c in counties]},
            "yAxis": {"type": "value"},
            "series": [
                {
                    "name": name,
                    "type": "bar",
                    "data": [
                        sum(jobs["by_county"][c]["fairs"].values())
                        if key == "fairs"
                        else jobs["by_county"][c][key]
                        for c in counties
                    ],
                }
                for name, key in (("招聘会", "fairs"), ("就业意向", "intents"), ("录用", "hires"))
            ],
        }
    months = (panels.get("jobs_months") or {}).get("months")
    if months:
        charts["jobs_months"] = {
            "tooltip": {"trigger": "axis"},
            "legend": {"data": ["招聘会（场）", "就业意向", "录用"]},
            "xAxis": {"type": "category", "data": [f"{m['month']}月" for m in months]},
            "yAxis": [{"type": "value", "name": "人"}, {"type": "value", "name": "场"}],
            "series": [
                {"name": "就业意向", "type": "bar", "data": [m["intents"] for m in months]},
                {"name": "录用", "type": "bar", "data": [m["hires"] for m in months]},
                {
                    "name": "招聘会（场）",
                    "type": "line",
                    "yAxisIndex": 1,
                    "data": [m["fairs"] for m in months],
                },
            ],
        }
    return charts


def dashboard_year(text: str | None) -> int:
    text = text or today()[:4]
    return int(text) if text.isdigit() and 2000 <= int(text) <= 2100 else 2018


def make_app(settings: ConsoleSettings | None = None) -> Console:
    from services.console.config import load_console_settings

    return Console(settings or load_console_settings())
