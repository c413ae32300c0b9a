"""A small, strict kustomize renderer for the subset of kustomize that k8s/ uses.

It exists so that the manifests can be rendered and checked in plain Python, with no binary.
Anything it does not implement raises ``Unsupported`` rather than being ignored, and
``test_manifests`` compares its output with ``kubectl kustomize`` wherever kubectl is installed,
so the two cannot drift apart silently.

Implemented: ``resources`` (files and directories), ``patches`` (strategic merge, by ``path``
with a ``target``), ``namespace``, ``labels`` (``pairs``, ``includeSelectors``,
``includeTemplates``), ``replicas`` and ``images``, applied in kustomize's order.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION_KEYS = {
    "apiVersion",
    "kind",
    "resources",
    "patches",
    "namespace",
    "labels",
    "replicas",
    "images",
}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
# Strategic-merge keys of the lists that a Deployment patch may touch (k8s.io/api tags).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
}


class Unsupported(ValueError):
    """The kustomization uses something this renderer does not implement."""


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def load_kustomization(directory: Path) -> dict[str, Any]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(kustomization) - KUSTOMIZATION_KEYS
    if unknown:
        raise Unsupported(f"{directory}: kustomization keys not implemented: {sorted(unknown)}")
    if kustomization.get("kind") != "Kustomization":
        raise Unsupported(f"{directory}: kind must be Kustomization")
    return kustomization


def referenced_files(directory: Path) -> set[Path]:
    """Every file that the kustomization in ``directory`` (and the ones it includes) uses."""
    kustomization = load_kustomization(directory)
    files = {(directory / "kustomization.yaml").resolve()}
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        files |= referenced_files(path) if path.is_dir() else {path}
    for patch in kustomization.get("patches", []):
        files.add((directory / patch["path"]).resolve())
    return files


def render(directory: Path) -> list[dict[str, Any]]:
    directory = Path(directory)
    kustomization = load_kustomization(directory)
    resources: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        resources.extend(render(path) if path.is_dir() else load_yaml_documents(path))
    for patch in kustomization.get("patches", []):
        _apply_patch(directory, resources, patch)
    if "namespace" in kustomization:
        for resource in resources:
            resource.setdefault("metadata", {})["namespace"] = kustomization["namespace"]
    for label_set in kustomization.get("labels", []):
        _apply_labels(resources, label_set)
    for replica in kustomization.get("replicas", []):
        _apply_replicas(resources, replica)
    for image in kustomization.get("images", []):
        _apply_image(resources, image)
    return resources


def strategic_merge(base: Any, patch: Any, field: str | None = None) -> Any:
    if isinstance(patch, dict):
        directives = [key for key in patch if str(key).startswith("$")]
        if directives:
            raise Unsupported(f"strategic-merge directives not implemented: {directives}")
        if not isinstance(base, dict):
            return copy.deepcopy(patch)
        merged = copy.deepcopy(base)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = strategic_merge(merged[key], value, key)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if isinstance(patch, list) and isinstance(base, list) and field in MERGE_KEYS:
        merge_key = MERGE_KEYS[field]
        merged = copy.deepcopy(base)
        for item in patch:
            for index, existing in enumerate(merged):
                if existing.get(merge_key) == item.get(merge_key):
                    merged[index] = strategic_merge(existing, item)
                    break
            else:
                merged.append(copy.deepcopy(item))
        return merged
    return copy.deepcopy(patch)


def _apply_patch(directory: Path, resources: list[dict[str, Any]], patch: dict) -> None:
    unknown = set(patch) - {"path", "target"}
    if unknown or "path" not in patch or "target" not in patch:
        raise Unsupported(f"patches entries need exactly path and target, got {sorted(patch)}")
    target = patch["target"]
    unknown = set(target) - {"group", "version", "kind", "name"}
    if unknown:
        raise Unsupported(f"patch target selectors not implemented: {sorted(unknown)}")
    documents = load_yaml_documents(directory / patch["path"])
    if len(documents) != 1:
        raise Unsupported(f"{patch['path']}: one strategic-merge document expected")
    body = copy.deepcopy(documents[0])
    body.pop("apiVersion", None)
    body.pop("kind", None)
    metadata = body.pop("metadata", {}) or {}
    extra_metadata = set(metadata) - {"name"}
    if extra_metadata:
        raise Unsupported(f"patch metadata other than name not implemented: {extra_metadata}")
    matched = [r for r in resources if _matches(r, target)]
    if not matched:
        raise Unsupported(f"patch {patch['path']} matches no resource")
    for resource in matched:
        resource.update(strategic_merge(resource, body))


def _matches(resource: dict[str, Any], target: dict[str, str]) -> bool:
    group, _, version = resource["apiVersion"].rpartition("/")
    return (
        target.get("kind", resource["kind"]) == resource["kind"]
        and target.get("group", group) == group
        and target.get("version", version) == version
        and target.get("name", resource["metadata"]["name"]) == resource["metadata"]["name"]
    )


def _apply_labels(resources: list[dict[str, Any]], label_set: dict[str, Any]) -> None:
    unknown = set(label_set) - {"pairs", "includeSelectors", "includeTemplates"}
    if unknown:
        raise Unsupported(f"labels options not implemented: {sorted(unknown)}")
    pairs = label_set["pairs"]
    selectors = label_set.get("includeSelectors", False)
    templates = selectors or label_set.get("includeTemplates", False)
    for resource in resources:
        resource.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        kind, spec = resource["kind"], resource.get("spec", {})
        if templates and kind in WORKLOAD_KINDS:
            template_meta = spec.setdefault("template", {}).setdefault("metadata", {})
            template_meta.setdefault("labels", {}).update(pairs)
        if selectors and kind in WORKLOAD_KINDS | {"PodDisruptionBudget"}:
            spec.setdefault("selector", {}).setdefault("matchLabels", {}).update(pairs)
        if selectors and kind == "Service":
            spec.setdefault("selector", {}).update(pairs)


def _apply_replicas(resources: list[dict[str, Any]], replica: dict[str, Any]) -> None:
    matched = [
        r
        for r in resources
        if r["kind"] in WORKLOAD_KINDS and r["metadata"]["name"] == replica["name"]
    ]
    if not matched:
        raise Unsupported(f"replicas: no workload named {replica['name']}")
    for resource in matched:
        resource["spec"]["replicas"] = replica["count"]


def _split_image(image: str) -> tuple[str, str | None, str | None]:
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = None
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    return name, tag, digest or None


def _apply_image(resources: list[dict[str, Any]], image: dict[str, str]) -> None:
    unknown = set(image) - {"name", "newName", "newTag", "digest"}
    if unknown:
        raise Unsupported(f"images options not implemented: {sorted(unknown)}")
    for resource in resources:
        if resource["kind"] not in WORKLOAD_KINDS:
            continue
        pod = resource["spec"]["template"]["spec"]
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            name, tag, digest = _split_image(container["image"])
            if name != image["name"]:
                continue
            name = image.get("newName", name)
            if "digest" in image:
                container["image"] = f"{name}@{image['digest']}"
                continue
            tag = image.get("newTag", tag)
            container["image"] = (
                name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
            )
