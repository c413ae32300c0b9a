"""Reviewer rules for docker/ and k8s/, as functions that list what is wrong.

Each returns a list of human-readable problems (empty when the input passes), so the tests can
assert both that the real files pass and that deliberately broken copies are rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import dockerfile

SECRET_ENV = ("STAFF_JWT_SECRET", "PII_ENCRYPTION_KEYS", "PII_HASH_KEY")
K8S_SECRET_NAME = "unionhub-secrets"
# What every Deployment reads from the Secret; each also reads its own AMQP_URI_<SERVICE>.
K8S_SECRET_KEYS = {
    "MONGO_URI",
    "STAFF_JWT_SECRET",
    "PII_ENCRYPTION_KEYS",
    "PII_HASH_KEY",
}
INFRA_SERVICES = ("rabbitmq", "mongo")


def amqp_secret_key(service: str) -> str:
    """The Secret key holding ``service``'s AMQP_URI, with its own broker user."""
    return f"AMQP_URI_{service.upper()}"


ALIVE_CHECK = ["python", "-m", "shared.healthcheck", "alive"]  # + the service's name
ALIVE_PATH = "/alive"
TMP_MOUNT = "/tmp"  # noqa: S108 - a path inside the container, an emptyDir
BUILD_TOOLS = re.compile(
    r"\b(build-essential|gcc|g\+\+|clang|make|cmake|python3?-dev|libc6?-dev|pkg-config)\b"
)


# --- Kubernetes --------------------------------------------------------------------------------


def deployment_problems(deployment: dict[str, Any]) -> list[str]:
    """Pod hardening, probes and resources of one apps/v1 Deployment."""
    name = deployment.get("metadata", {}).get("name", "?")
    pod = deployment.get("spec", {}).get("template", {}).get("spec", {})
    pod_security = pod.get("securityContext") or {}
    problems: list[str] = []
    if (pod_security.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        problems.append(f"{name}: pod seccompProfile is not RuntimeDefault")
    containers = pod.get("containers") or []
    if not containers:
        problems.append(f"{name}: no containers")
    tmp_volumes = {v["name"] for v in pod.get("volumes") or [] if "emptyDir" in v}
    for container in containers + (pod.get("initContainers") or []):
        where = f"{name}/{container.get('name', '?')}"
        security = container.get("securityContext") or {}

        def effective(key: str, security: dict = security) -> Any:
            return security.get(key, pod_security.get(key))

        if effective("runAsNonRoot") is not True:
            problems.append(f"{where}: runAsNonRoot is not true")
        if effective("runAsUser") in (None, 0):
            problems.append(f"{where}: runAsUser is unset or 0")
        if security.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: readOnlyRootFilesystem is not true")
        if security.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        if security.get("privileged"):
            problems.append(f"{where}: privileged")
        if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
            problems.append(f"{where}: capabilities do not drop ALL")
        for probe in ("livenessProbe", "readinessProbe"):
            if not container.get(probe):
                problems.append(f"{where}: no {probe}")
        for probe in ("startupProbe", "livenessProbe"):
            if container.get(probe) and not per_process_probe(container, container[probe]):
                problems.append(f"{where}: {probe} does not check this pod's own process")
        resources = container.get("resources") or {}
        for bound in ("requests", "limits"):
            missing = {"cpu", "memory"} - set(resources.get(bound) or {})
            if missing:
                problems.append(f"{where}: no {bound} for {sorted(missing)}")
        image = container.get("image", "")
        if (
            not image
            or image.endswith(":latest")
            or (":" not in image.rsplit("/", 1)[-1] and "@" not in image)
        ):
            problems.append(f"{where}: image {image!r} is not pinned to a tag or digest")
        mounts = {m.get("mountPath"): m.get("name") for m in container.get("volumeMounts") or []}
        if mounts.get(TMP_MOUNT) not in tmp_volumes:
            problems.append(f"{where}: {TMP_MOUNT} is not an emptyDir (read-only root filesystem)")
        for env in container.get("env") or []:
            if "value" in env and (env["name"] in K8S_SECRET_KEYS or env["name"] == "AMQP_URI"):
                problems.append(f"{where}: secret {env['name']} given as a literal value")
    return problems


def per_process_probe(container: dict[str, Any], probe: dict[str, Any]) -> bool:
    """Whether ``probe`` can only pass when this container's own process works: the gateway's
    ``GET /alive`` on one of its own ports (answered by the process, asking no one), or the
    service's heartbeat file. An RPC ping is not (any replica may answer it), nor is
    ``/health`` (it pings every service)."""
    ports = {p.get("name") for p in container.get("ports") or []} | {
        p.get("containerPort") for p in container.get("ports") or []
    }
    if "httpGet" in probe:
        return probe["httpGet"].get("path") == ALIVE_PATH and probe["httpGet"].get("port") in ports
    args = container.get("args") or container.get("command") or []
    service = args[-1] if args[:3] == ["python", "-m", "shared.runner"] else None
    command = (probe.get("exec") or {}).get("command")
    return service is not None and command == ALIVE_CHECK + [service]


def secret_refs(resource: dict[str, Any]) -> set[tuple[str, str]]:
    """(secret name, key) pairs referenced through env[].valueFrom.secretKeyRef."""
    pod = resource.get("spec", {}).get("template", {}).get("spec", {})
    refs = set()
    for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                refs.add((ref["name"], ref["key"]))
    return refs


# --- Compose -----------------------------------------------------------------------------------

_REQUIRED_VAR = r"\$\{%s:\?[^}]+\}"


def compose_app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The unionhub services: those whose command runs shared.runner."""
    return {
        name: service
        for name, service in (compose.get("services") or {}).items()
        if "shared.runner" in " ".join(map(str, service.get("command") or []))
    }


def compose_problems(compose: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    services = compose.get("services") or {}
    for infra in INFRA_SERVICES:
        if not (services.get(infra) or {}).get("healthcheck", {}).get("test"):
            problems.append(f"{infra}: no healthcheck")
    apps = compose_app_services(compose)
    if not apps:
        problems.append("no service runs shared.runner")
    for name, service in apps.items():
        depends = service.get("depends_on") or {}
        for infra in INFRA_SERVICES:
            condition = (
                depends.get(infra, {}).get("condition") if isinstance(depends, dict) else None
            )
            if condition != "service_healthy":
                problems.append(f"{name}: does not depend on {infra} being service_healthy")
        env = service.get("environment") or {}
        if not isinstance(env, dict):
            problems.append(f"{name}: environment must be a mapping")
            continue
        if env.get("APP_ENV") != "production":
            problems.append(f"{name}: APP_ENV is not production")
        for var in SECRET_ENV:
            if not re.fullmatch(_REQUIRED_VAR % var, str(env.get(var, ""))):
                problems.append(f"{name}: {var} is not required as ${{{var}:?...}}")
        for var in ("AMQP_URI", "MONGO_URI"):
            if not env.get(var):
                problems.append(f"{name}: {var} not set")
        test = service.get("healthcheck", {}).get("test")
        if not test:
            problems.append(f"{name}: no healthcheck")
        elif "shared.healthcheck" in test and test != ["CMD", *ALIVE_CHECK, name]:
            problems.append(f"{name}: healthcheck does not check this container's own process")
        user = str(service.get("user", "")).split(":")[0]
        if user in ("", "0", "root"):
            problems.append(f"{name}: does not run as a non-root user")
        if service.get("read_only") is not True:
            problems.append(f"{name}: root filesystem is not read_only")
    return problems


_INTERPOLATION = re.compile(
    r"\$\$"  # an escaped dollar
    r"|\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?+][^}]*)?\}"  # ${VAR}, ${VAR:-x}, ${VAR:?msg}, ...
    r"|\$[A-Za-z_][A-Za-z0-9_]*"  # $VAR
)


def interpolation_problems(compose_text: str) -> list[str]:
    """Every `$` in the file is a well-formed Compose interpolation (or an escaped `$$`)."""
    problems = []
    for number, line in enumerate(compose_text.splitlines(), 1):
        content = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
        rest = _INTERPOLATION.sub("", content)
        if "$" in rest:
            problems.append(f"line {number}: malformed interpolation: {line.strip()}")
    return problems


# --- Dockerfile --------------------------------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[dockerfile.Command] = field(default_factory=list)

    def commands(self, keyword: str) -> list[dockerfile.Command]:
        return [command for command in self.instructions if command.cmd == keyword]


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """(global ARG defaults, stages), read by BuildKit's own parser (package ``dockerfile``)."""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for command in dockerfile.parse_string(text):
        if command.cmd == "FROM":
            words = command.value
            # Docker expands the global ARGs in FROM lines (and nowhere else before a stage).
            base = re.sub(
                r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), words[0]
            )
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=base, name=name))
        elif not stages:
            if command.cmd == "ARG":
                key, _, default = command.value[0].partition("=")
                global_args[key] = default
        else:
            stages[-1].instructions.append(command)
    return global_args, stages


def dockerfile_env(stage: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for command in stage.commands("ENV"):
        env.update(zip(command.value[::2], command.value[1::2], strict=True))
    return env


def dockerfile_problems(text: str) -> list[str]:
    _, stages = parse_dockerfile(text)
    problems: list[str] = []
    if len(stages) < 2:
        return [f"{len(stages)} FROM: a multi-stage build is expected"]
    final = stages[-1]
    # An explicit root USER, like shell-form CMD, is hadolint's to refuse (DL3002, DL3025);
    # hadolint says nothing when USER is missing altogether.
    if not final.commands("USER"):
        problems.append("final stage sets no USER (runs as root)")
    for command in final.commands("RUN"):
        if BUILD_TOOLS.search(" ".join(command.value)):
            problems.append(f"final stage installs build tools: {command.original[:80]}")
    if any(re.match(r"https?://", source) for c in final.commands("ADD") for source in c.value):
        problems.append("ADD from a URL")
    earlier = {stage.name for stage in stages[:-1] if stage.name}
    copies_from = {
        flag.removeprefix("--from=")
        for command in final.commands("COPY")
        for flag in command.flags
        if flag.startswith("--from=")
    }
    if not copies_from & earlier:
        problems.append("final stage copies nothing from an earlier stage")
    if not re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?(@sha256:[0-9a-f]{64})?", final.base):
        problems.append(f"final base image {final.base} is not python:3.11-slim")
    env = dockerfile_env(final)
    for key in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"):
        if env.get(key) != "1":
            problems.append(f"final stage does not set {key}=1")
    if env.get("APP_ENV") != "production":
        problems.append("final stage does not set APP_ENV=production")
    for key in env:
        if key in K8S_SECRET_KEYS or re.search(r"SECRET|PASSWORD|TOKEN", key):
            problems.append(f"final stage bakes {key} into the image")
    if not final.commands("CMD"):
        problems.append("final stage has no CMD")
    return problems


def dockerfile_user(text: str) -> str:
    _, stages = parse_dockerfile(text)
    return stages[-1].commands("USER")[-1].value[0]


# --- .dockerignore -----------------------------------------------------------------------------


def _ignore_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif char == "*":
            out, i = out + "[^/]*", i + 1
        elif char == "?":
            out, i = out + "[^/]", i + 1
        elif char == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(char), i + 1
    return re.compile(out)


def dockerignore_excludes(ignore_text: str, path: str) -> bool:
    """Whether docker leaves ``path`` (relative to the context) out of the build context.

    Docker's rules: patterns apply in order, the last one matching decides, ``!`` re-includes,
    and a pattern that matches a parent directory matches everything below it.
    """
    rules = []
    for line in ignore_text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:].strip() if negate else line
        rules.append((negate, _ignore_regex(pattern.strip("/"))))
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for negate, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            excluded = not negate
    return excluded
