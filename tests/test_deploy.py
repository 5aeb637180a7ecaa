"""The deployment under ``deploy/``: every Kubernetes manifest is valid against the Kubernetes schemas
(``kubernetes-validate``, offline: its schemas ship with it), the pods are hardened and wired together
(scheduler address, database path, Secrets), the CronJobs call only options that exist, and the image's
Dockerfile passes alpinist's own ``alpinist lint`` with no finding."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # no stubs; pyproject has no override for it
import pytest
import yaml

from alpinist.cli.db import update as db_update_command
from alpinist.cli.fleet import fleet as fleet_group
from alpinist.dockerfile.parse import read_dockerfile
from tests.conftest import REPO

DEPLOY = REPO / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
MANIFESTS = sorted(p for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml")
# the oldest Kubernetes the README promises (CronJob timeZone is GA from 1.27), and the newest schemas
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
IMAGE = "registry.example.com/platform/alpinist"
SCHEDULER = "tcp://dask-scheduler:8786"
DB_DIR = "/var/lib/alpinist"

def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def resources() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in documents(path)]


def named(kind: str, name: str) -> dict[str, Any]:
    found = [r for r in resources() if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def pod_spec(resource: dict[str, Any]) -> dict[str, Any]:
    if resource["kind"] == "CronJob":
        return dict(resource["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    return dict(resource["spec"]["template"]["spec"])


def workloads() -> list[dict[str, Any]]:
    return [r for r in resources() if r["kind"] in ("Deployment", "CronJob")]


def cronjobs() -> list[dict[str, Any]]:
    return [r for r in resources() if r["kind"] == "CronJob"]


# -- the schemas ---------------------------------------------------------------------------------------
def test_there_are_manifests() -> None:
    kinds = sorted(r["kind"] for r in resources())
    assert kinds == sorted(
        [
            "Namespace",
            "ServiceAccount",
            "ConfigMap",
            "PersistentVolumeClaim",
            "Deployment",
            "Service",
            "Deployment",
            "CronJob",
            "CronJob",
            "NetworkPolicy",
        ]
    )


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_manifest_is_valid_kubernetes(path: Path, version: str) -> None:
    """Strict: a field the schema does not have (a misspelt key) fails as a missing required one does."""
    for doc in documents(path):
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validation_catches_a_misspelt_field() -> None:
    """The check above can fail: one typo in a copy of the worker Deployment is refused."""
    worker = named("Deployment", "dask-worker")
    broken = json.loads(json.dumps(worker))
    container = pod_spec(broken)["containers"][0]
    container["securityContex"] = container.pop("securityContext")
    with pytest.raises(kubernetes_validate.ValidationError, match="securityContex"):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)


def test_the_kustomization_applies_every_manifest_and_names_the_image() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text(encoding="utf-8"))
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["namespace"] == named("Namespace", "alpinist")["metadata"]["name"]
    assert sorted(kustomization["resources"]) == [p.name for p in MANIFESTS]
    assert [image["name"] for image in kustomization["images"]] == [IMAGE]
    images = {c["image"] for r in workloads() for c in pod_spec(r)["containers"]}
    assert {image.rsplit(":", 1)[0] for image in images} == {IMAGE}  # one image everywhere: Dask wants it


# -- the pods ------------------------------------------------------------------------------------------
def containers() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for resource in workloads():
        spec = pod_spec(resource)
        for container in spec["containers"]:
            yield resource["metadata"]["name"], spec, container


def test_every_pod_is_hardened() -> None:
    """Non-root numeric user, no privilege escalation, no capabilities, read-only root with /tmp on an
    emptyDir, resources bounded, no service account token: the restricted Pod Security Standard the
    namespace enforces, and more."""
    seen = 0
    for name, spec, container in containers():
        seen += 1
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] == 65532, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False and spec["serviceAccountName"] == "alpinist", (
            name
        )
        own = container["securityContext"]
        assert own["allowPrivilegeEscalation"] is False, name
        assert own["readOnlyRootFilesystem"] is True, name
        assert own["capabilities"] == {"drop": ["ALL"]}, name
        volumes = {v["name"]: v for v in spec["volumes"]}
        tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
        assert len(tmp) == 1 and "emptyDir" in volumes[tmp[0]["name"]], name
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), (name, bound)
    assert seen == 4
    namespace = named("Namespace", "alpinist")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_scheduler_service_and_the_workers() -> None:
    service = named("Service", "dask-scheduler")
    scheduler = named("Deployment", "dask-scheduler")
    assert service["spec"]["selector"].items() <= scheduler["spec"]["template"]["metadata"]["labels"].items()
    assert {p["port"] for p in service["spec"]["ports"]} >= {8786}
    assert pod_spec(scheduler)["containers"][0]["command"][:2] == ["dask", "scheduler"]
    worker = pod_spec(named("Deployment", "dask-worker"))["containers"][0]
    assert worker["command"][:5] == ["dask", "worker", SCHEDULER, "--nthreads", "1"]
    assert f"tcp://{service['metadata']['name']}:8786" == SCHEDULER


def test_every_pod_opens_the_same_database_and_the_workers_only_read_it() -> None:
    """The workers match against the database file the CronJob updated: one claim, one path, read-only
    for the workers, writable for the CronJobs."""
    claim = named("PersistentVolumeClaim", "alpinist-advisory-db")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for name, spec, container in containers():
        if name == "dask-scheduler":
            assert not any(v.get("persistentVolumeClaim") for v in spec["volumes"])
            continue
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["ALPINIST_DB"] == f"{DB_DIR}/advisories.db", name
        mount = next(m for m in container["volumeMounts"] if m["mountPath"] == DB_DIR)
        volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
        assert volume["persistentVolumeClaim"]["claimName"] == "alpinist-advisory-db", name
        read_only = name == "dask-worker"
        assert mount.get("readOnly", False) is read_only, name
        assert volume["persistentVolumeClaim"].get("readOnly", False) is read_only, name


# -- the CronJobs --------------------------------------------------------------------------------------
def commands(cronjob: dict[str, Any]) -> list[list[str]]:
    """The commands of the CronJob's shell script (``a && exec b``), each as words, ``exec`` dropped."""
    container = pod_spec(cronjob)["containers"][0]
    assert container["command"] == ["/bin/sh", "-c"]
    (script,) = container["args"]
    out: list[list[str]] = [[]]
    for word in shlex.split(script):
        if word == "&&":
            out.append([])
        elif not (word == "exec" and not out[-1]):
            out[-1].append(word)
    return out


def options_of(words: list[str]) -> list[str]:
    return [w.split("=", 1)[0] for w in words if w.startswith("-")]


def test_the_nightly_cronjob_updates_then_rescans() -> None:
    cronjob = named("CronJob", "alpinist-nightly-rescan")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert commands(cronjob) == [
        ["alpinist", "db", "update"],
        [
            "alpinist",
            "fleet",
            "rescan",
            "--engine",
            "dask",
            "--scheduler",
            SCHEDULER,
            "--store",
            "$ALPINIST_FLEET_STORE",
        ],
    ]


def test_the_weekly_cronjob_scans_the_catalog() -> None:
    cronjob = named("CronJob", "alpinist-weekly-scan")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    (scan,) = commands(cronjob)
    assert scan[:3] == ["alpinist", "fleet", "scan"]
    assert scan[scan.index("--catalog") + 1] == "$ALPINIST_FLEET_CATALOG"
    assert scan[scan.index("--scheduler") + 1] == SCHEDULER
    env = {e["name"]: e for e in pod_spec(cronjob)["containers"][0]["env"]}
    assert env["ALPINIST_FLEET_CATALOG"]["valueFrom"]["configMapKeyRef"] == {
        "name": "alpinist-fleet",
        "key": "catalog",
    }
    assert "catalog" in named("ConfigMap", "alpinist-fleet")["data"]


def test_the_store_url_comes_from_a_secret() -> None:
    for cronjob in cronjobs():
        env = {e["name"]: e for e in pod_spec(cronjob)["containers"][0]["env"]}
        store = env["ALPINIST_FLEET_STORE"]
        assert "value" not in store
        assert store["valueFrom"]["secretKeyRef"] == {"name": "alpinist-fleet-store", "key": "url"}
        assert any(word == "$ALPINIST_FLEET_STORE" for command in commands(cronjob) for word in command)
        # the weekly and the nightly runs never meet: Saturday noon and 02:00 every day
    assert {c["spec"]["schedule"] for c in cronjobs()} == {"0 2 * * *", "0 12 * * 6"}


def test_the_cronjobs_use_only_options_that_exist() -> None:
    db_update = frozenset(o for p in db_update_command.params for o in p.opts)
    checked = 0
    for cronjob in cronjobs():
        for words in commands(cronjob):
            assert words[0] == "alpinist", words
            if words[1:3] == ["db", "update"]:
                known = db_update
            else:
                assert words[1] == "fleet" and words[2] in fleet_group.commands, words
                known = frozenset(o for p in fleet_group.commands[words[2]].params for o in p.opts)
            unknown = set(options_of(words[3:])) - known
            assert not unknown, (
                f"{cronjob['metadata']['name']}: {' '.join(words[:3])} has no {sorted(unknown)}"
            )
            checked += 1
    assert checked == 3
    assert "--nvd-api-key" in db_update  # the introspection reads real options


# -- the image -----------------------------------------------------------------------------------------
def test_the_dockerfile_passes_alpinist_lint() -> None:
    """`alpinist lint deploy/Dockerfile` (this checkout's alpinist) finds nothing at any severity; the
    ignore comments silence exactly the tag-only pins (the digest is added where the image is built) and
    the HEALTHCHECK (Kubernetes probes the pods)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "alpinist",
            "lint",
            "deploy/Dockerfile",
            "--format",
            "json",
            "--fail-on",
            "info",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["findings"] == []
    assert sorted(s["rule"] for s in report["suppressed"]) == ["ALP004", "ALP004", "ALP017"]


def test_the_dockerfile_is_a_hardened_alpine_build() -> None:
    dockerfile = read_dockerfile(DEPLOY / "Dockerfile")
    assert len(dockerfile.stages) == 2
    for stage in dockerfile.stages:
        base = stage.base_resolved
        assert base.repository == "python" and base.tag is not None and "alpine" in base.tag, base
    user, _ = dockerfile.effective_user(dockerfile.final_stage)
    assert user == "65532:65532"
    runs = " ".join(ins.value for ins in dockerfile.stages[0].runs)
    assert '".[fleet]"' in runs and "--no-cache-dir" in runs
    copies = dockerfile.final_stage.copies_from
    assert [source for _, source in copies] == ["build"]
    lines = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert patterns[:4] == ["*", "!pyproject.toml", "!README.md", "!src/"]  # the context: the package only
