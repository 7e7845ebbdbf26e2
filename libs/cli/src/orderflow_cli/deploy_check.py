"""Render and validate the deployment files (issue #13), in `make lint`:

- docker-compose.yml, interpolated as Compose does, against the Compose
  Specification's JSON Schema (from the compose-spec/compose-go module);
- the Helm chart, rendered by `helm template` with each deploy/helm/ci-*.yaml, every
  object against the Kubernetes JSON Schemas (kubernetes-validate, strict: unknown
  fields are errors) and every KEDA ScaledObject against KEDA's own CRD schema (from
  the kedacore/keda module);
- what a schema cannot say: probes on /healthz and /readyz, requests and limits, a
  PodDisruptionBudget per Deployment, the migration job, and autoscaler triggers that
  are exactly the consumer groups the services subscribe with.

Nothing is applied or started: there is no cluster or Docker engine here.

    python -m orderflow_cli.deploy_check fetch-schemas   # `make tools` does it
    python -m orderflow_cli.deploy_check                  # exit 1 listing problems
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from orderflow_contracts.catalogue import GROUPS, SERVICES

ROOT = Path(__file__).resolve().parents[4]
TOOLS = ROOT / ".tools"
HELM = TOOLS / "bin" / "helm"
SCHEMAS = TOOLS / "schemas"
CHART = ROOT / "deploy" / "helm" / "orderflow"
COMPOSE = ROOT / "docker-compose.yml"
KUBERNETES_VERSION = "1.34"
# Where the schemas come from (Go modules, fetched by `go mod download`).
KEDA_MODULE = ("github.com/kedacore/keda/v2", "v2.21.1")
KEDA_CRDS = {  # kind -> its CRD in the module
    "ScaledObject": "config/crd/bases/keda.sh_scaledobjects.yaml",
    "TriggerAuthentication": "config/crd/bases/keda.sh_triggerauthentications.yaml",
}
COMPOSE_SPEC = ("github.com/compose-spec/compose-go/v2", "v2.16.2", "schema/compose-spec.json")
KEDA_SCHEMAS = {kind: SCHEMAS / f"{kind.lower()}-keda-v1alpha1.json" for kind in KEDA_CRDS}
COMPOSE_SCHEMA = SCHEMAS / "compose-spec.json"

Problems = list[str]


def fetch_schemas() -> None:
    """Download the two modules into Go's module cache and keep the schemas we need."""
    SCHEMAS.mkdir(parents=True, exist_ok=True)
    for kind, path in KEDA_CRDS.items():
        crd = yaml.safe_load(_module_file(*KEDA_MODULE, path))
        KEDA_SCHEMAS[kind].write_text(json.dumps(crd_schema(crd, "v1alpha1"), indent=1))
    COMPOSE_SCHEMA.write_bytes(_module_file(*COMPOSE_SPEC))


def _module_file(module: str, version: str, path: str) -> bytes:
    """A file of a module, read from the zip the Go module proxy served (the zip, not
    the extracted tree: go refuses to extract a module that wants a newer Go, and we
    only need a file of it)."""
    found = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True, text=True, check=False, env={**os.environ, "GOFLAGS": "-mod=mod"},
    )  # fmt: skip
    zipped = json.loads(found.stdout or "{}").get("Zip")
    if not zipped or not Path(zipped).exists():
        raise SystemExit(f"go mod download {module}@{version}: {found.stdout}{found.stderr}")
    with zipfile.ZipFile(zipped) as archive:
        return archive.read(f"{module}@{version}/{path}")


def crd_schema(crd: Mapping[str, Any], version: str) -> dict[str, Any]:
    """A CRD version's openAPIV3Schema as a strict JSON Schema: objects that list their
    properties take no others (as the API server prunes and `kubectl --validate=strict`
    refuses), unless marked x-kubernetes-preserve-unknown-fields."""
    [served] = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema: dict[str, Any] = _strict(served["schema"]["openAPIV3Schema"])
    return schema


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _strict(value) for key, value in node.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


# -- Compose ---------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}")
# Fields Compose casts to numbers after interpolation (the spec's schema wants numbers).
_NUMERIC = {"replicas"}


def interpolate(node: Any, environ: Mapping[str, str], key: str = "") -> Any:
    """Compose's `${VAR}` / `${VAR:-default}` substitution, then its casts."""
    if isinstance(node, dict):
        return {k: interpolate(v, environ, str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(item, environ, key) for item in node]
    if isinstance(node, str):
        value = _VARIABLE.sub(lambda m: environ.get(m["name"]) or (m["default"] or ""), node)
        return int(value) if key in _NUMERIC and value.isdigit() else value
    return node


def check_compose(path: Path = COMPOSE) -> Problems:
    import jsonschema  # type: ignore[import-untyped]

    document = interpolate(yaml.safe_load(path.read_text()), {})
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    problems = [
        f"compose: {'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]
    services = document.get("services", {})
    for name in SERVICES:
        service = services.get(name)
        if service is None:
            problems.append(f"compose: service {name} is missing")
            continue
        if service.get("command") != ["python", "-m", name]:
            problems.append(f"compose: {name} does not run `python -m {name}`")
        if "healthcheck" not in service:
            problems.append(f"compose: {name} has no healthcheck")
        waits = service.get("depends_on", {}).get("provision", {}).get("condition")
        if waits != "service_completed_successfully":
            problems.append(f"compose: {name} does not wait for the migration job")
    for name, service in services.items():
        for port in service.get("ports", []):
            if not str(port).startswith("127.0.0.1:"):
                problems.append(f"compose: {name} publishes {port} beyond loopback")
    return problems


# -- Helm ------------------------------------------------------------------------------


def render(values: Path | None) -> tuple[int, str]:
    args = [str(HELM), "template", "orderflow", str(CHART)]
    if values is not None:
        args += ["--values", str(values)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout if done.returncode == 0 else done.stderr


def objects(rendered: str) -> Iterator[dict[str, Any]]:
    for document in yaml.safe_load_all(rendered):
        if document:
            yield document


def check_schemas(docs: list[dict[str, Any]], label: str) -> Problems:
    import jsonschema
    import kubernetes_validate  # type: ignore[import-untyped]

    keda = {kind: json.loads(path.read_text()) for kind, path in KEDA_SCHEMAS.items()}
    problems: Problems = []
    for doc in docs:
        where = f"{label}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            if doc.get("apiVersion") == "keda.sh/v1alpha1":
                if doc.get("kind") not in keda:
                    problems.append(f"{where}: no schema for this KEDA kind")
                    continue
                jsonschema.validate(doc, keda[doc["kind"]])
            else:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except (jsonschema.ValidationError, kubernetes_validate.ValidationError) as exc:
            problems.append(f"{where}: {'/'.join(map(str, exc.absolute_path))}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{where}: {exc.message}")
    return problems


def _kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def check_policies(docs: list[dict[str, Any]], label: str, values: Mapping[str, Any]) -> Problems:
    problems: Problems = []
    deployments = _kind(docs, "Deployment")
    budgets = [
        d["spec"]["selector"]["matchLabels"] for d in _kind(docs, "PodDisruptionBudget").values()
    ]
    scaled = {d["spec"]["scaleTargetRef"]["name"]: d for d in _kind(docs, "ScaledObject").values()}
    autoscaling = values.get("autoscaling", {}).get("enabled", True)
    login = str(values.get("kafka", {}).get("securityProtocol", "")).startswith("SASL_")
    auths = _kind(docs, "TriggerAuthentication")
    groups: dict[str, set[str]] = {}
    for group in GROUPS:
        groups.setdefault(group.service, set()).add(group.group)
    for service in SERVICES:
        name = f"orderflow-{service}"
        deployment = deployments.get(name)
        if deployment is None:
            problems.append(f"{label}: no Deployment for {service}")
            continue
        problems += _pod_problems(f"{label}: {name}", deployment)
        labels = deployment["spec"]["selector"]["matchLabels"]
        if labels not in budgets:
            problems.append(f"{label}: {name} has no PodDisruptionBudget")
        expected = groups.get(service, set())
        if autoscaling and expected:
            triggers = scaled.get(name, {}).get("spec", {}).get("triggers", [])
            found = {t["metadata"]["consumerGroup"] for t in triggers}
            if found != expected:
                problems.append(f"{label}: {name} scales on groups {found}, not {expected}")
            if "replicas" in deployment["spec"]:
                problems.append(f"{label}: {name} sets replicas beside its autoscaler")
        elif name in scaled:
            problems.append(f"{label}: {name} has an autoscaler it should not have")
        if login:
            problems += login_problems(f"{label}: {name}", deployment, scaled.get(name), auths)
    jobs = _kind(docs, "Job")
    if not any(
        j["spec"]["template"]["spec"]["containers"][0]["command"] == ["orderflow", "provision"]
        and "pre-upgrade" in j["metadata"].get("annotations", {}).get("helm.sh/hook", "")
        for j in jobs.values()
    ):
        problems.append(f"{label}: no migration Job run before installs and upgrades")
    return problems


def login_problems(
    where: str,
    deployment: dict[str, Any],
    scaled: dict[str, Any] | None,
    auths: Mapping[str, dict[str, Any]],
) -> Problems:
    """With Kafka logins on: the service's password comes from a Secret, and each of its
    autoscaler's triggers logs in through a TriggerAuthentication that exists."""
    problems: Problems = []
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container.get("env", [])}
    if "secretKeyRef" not in env.get("KAFKA_SASL_PASSWORD", {}).get("valueFrom", {}):
        problems.append(f"{where}: KAFKA_SASL_PASSWORD is not read from a Secret")
    for trigger in (scaled or {}).get("spec", {}).get("triggers", []):
        auth = trigger.get("authenticationRef", {}).get("name")
        if auth not in auths:
            problems.append(f"{where}: trigger {trigger.get('name')} has no Kafka login")
    return problems


def _pod_problems(where: str, deployment: dict[str, Any]) -> Problems:
    problems: Problems = []
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    probes = {
        "livenessProbe": "/healthz",
        "readinessProbe": "/readyz",
        "startupProbe": "/healthz",
    }
    for probe, path in probes.items():
        if container.get(probe, {}).get("httpGet", {}).get("path") != path:
            problems.append(f"{where}: {probe} is not an HTTP GET of {path}")
    resources = container.get("resources", {})
    for bound in ("requests", "limits"):
        if set(resources.get(bound, {})) < {"cpu", "memory"}:
            problems.append(f"{where}: no cpu and memory {bound}")
    return problems


def check_chart() -> Problems:
    problems: Problems = []
    code, output = render(None)
    if code == 0 or "is required" not in output:
        problems.append("helm: the chart renders without any database secret")
    lint = subprocess.run(
        [str(HELM), "lint", str(CHART), "--values", str(CHART.parent / "ci-values.yaml")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if lint.returncode != 0:
        problems.append(f"helm lint: {lint.stdout}{lint.stderr}")
    for values in sorted(CHART.parent.glob("ci-*.yaml")):
        code, output = render(values)
        if code != 0:
            problems.append(f"helm template {values.name}: {output}")
            continue
        docs = list(objects(output))
        merged = _merge(
            yaml.safe_load((CHART / "values.yaml").read_text()), yaml.safe_load(values.read_text())
        )
        problems += check_schemas(docs, values.name)
        problems += check_policies(docs, values.name, merged)
    return problems


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {
            k: _merge(base.get(k), override[k]) if k in override else v for k, v in base.items()
        } | {k: v for k, v in override.items() if k not in base}
    return base if override is None else override


def main(argv: list[str]) -> int:
    if argv[1:] == ["fetch-schemas"]:
        fetch_schemas()
        return 0
    missing = [p for p in (HELM, *KEDA_SCHEMAS.values(), COMPOSE_SCHEMA) if not p.exists()]
    if missing:
        print(f"missing {', '.join(map(str, missing))}: run `make tools`", file=sys.stderr)
        return 2
    problems = check_compose() + check_chart()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print("deploy: docker-compose.yml and the Helm chart render and validate")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
