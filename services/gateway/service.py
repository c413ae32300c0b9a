"""The gateway nameko service: the HTTP edge of API.md, verifying callers and relaying by RPC.
Each service behind it contributes a route mixin from ``services/gateway/routes``."""

from __future__ import annotations

from services.gateway.routes.dossiers import DossierRoutes
from services.gateway.routes.jobs import JobsRoutes
from services.gateway.routes.mutual_aid import MutualAidRoutes
from services.gateway.routes.notifications import NotificationRoutes
from services.gateway.routes.operations import OperationsRoutes
from services.gateway.routes.platform import PlatformRoutes
from services.gateway.routes.student_aid import StudentAidRoutes
from services.gateway.schemas import BACKENDS


class GatewayService(
    PlatformRoutes,
    DossierRoutes,
    MutualAidRoutes,
    StudentAidRoutes,
    JobsRoutes,
    NotificationRoutes,
    OperationsRoutes,
):
    name = "gateway"
    backends = BACKENDS
