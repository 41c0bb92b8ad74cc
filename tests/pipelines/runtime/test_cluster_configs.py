"""The cluster launcher config passes Ray's own validation; the KubeRay RayJob and the Grafana dashboard
hold the fields and queries they need."""

import json
import os
import re
import shlex

import pytest
import yaml

from pipelines.web.config import CurateConfig
from pipelines.web.curate import parse_args
from pipelines.web.steps import web_steps
from tests.fixtures.shared_data import REPO_ROOT as ROOT

EXPORTED = {"ray_curation_docs_in_total", "ray_curation_docs_out_total", "ray_curation_docs_dropped_total"}
TAGS = {"pipeline", "job_id", "submission_id", "operator", "lang", "reason"}


def test_ray_cluster_yaml_passes_ray_validation():
    import jsonschema
    import ray.autoscaler
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = yaml.safe_load((ROOT / "ray_cluster.yaml").read_text())
    with open(os.path.join(os.path.dirname(ray.autoscaler.__file__), "ray-schema.json")) as handle:
        jsonschema.validate(config, json.load(handle))
    validate_config(prepare_config(config))  # what `ray up` runs

    assert config["provider"]["region"] == "us-east-1"  # Common Crawl's bucket
    types = config["available_node_types"]
    assert types[config["head_node_type"]]["resources"] == {"CPU": 0}
    head_start = " ".join(config["head_start_ray_commands"])
    assert "--num-cpus=0" in head_start and "--dashboard-host=127.0.0.1" in head_start
    assert "--metrics-export-port=8080" in head_start
    assert "--metrics-export-port=8080" in " ".join(config["worker_start_ray_commands"])
    workers = {name: t for name, t in types.items() if name != config["head_node_type"]}
    assert any(t["node_config"]["InstanceType"].startswith(("p4", "p5", "g5", "g6")) for t in workers.values())
    assert any(t["node_config"]["InstanceType"].startswith(("c6", "c7", "m7")) for t in workers.values())
    assert any("make setup" in command for command in config["setup_commands"])


def kuberay_job():
    return yaml.safe_load((ROOT / "configs" / "kuberay" / "rayjob.yaml").read_text())


def test_kuberay_rayjob_fields():
    import ray

    job = kuberay_job()
    assert job["apiVersion"] == "ray.io/v1" and job["kind"] == "RayJob"
    spec = job["spec"]
    assert spec["shutdownAfterJobFinishes"] is True and spec["submissionMode"] in ("K8sJobMode", "HTTPMode")
    argv = shlex.split(spec["entrypoint"])
    assert argv[0] == "python" and (ROOT / argv[1]).is_file()
    args = parse_args(argv[2:])  # the entrypoint's options are the script's
    assert args.input[0].startswith("s3://commoncrawl/") and args.output
    assert yaml.safe_load(spec["runtimeEnvYAML"])["env_vars"]["RAY_AUTH_MODE"] == "disabled"

    cluster = spec["rayClusterSpec"]
    assert cluster["rayVersion"] == ray.__version__
    head = cluster["headGroupSpec"]
    assert head["rayStartParams"]["num-cpus"] == "0" and head["rayStartParams"]["metrics-export-port"] == "8080"
    (head_container,) = head["template"]["spec"]["containers"]
    assert {p["containerPort"] for p in head_container["ports"]} >= {6379, 8265, 8080}
    groups = {g["groupName"]: g for g in cluster["workerGroupSpecs"]}
    containers = [head_container] + [c for g in groups.values() for c in g["template"]["spec"]["containers"]]
    assert len({c["image"] for c in containers}) == 1
    for container in containers:
        requests, limits = container["resources"]["requests"], container["resources"]["limits"]
        assert {"cpu", "memory"} <= set(requests) and set(requests) == set(limits)
        assert _quantity(requests["memory"]) <= _quantity(limits["memory"]), container["name"]
    for group in groups.values():
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
        assert group["rayStartParams"]["metrics-export-port"] == "8080"
    gpu = [g for g in groups.values() if "nvidia.com/gpu" in g["template"]["spec"]["containers"][0]["resources"]["limits"]]
    assert gpu and all(g["minReplicas"] == 0 for g in gpu)


def _quantity(value: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    match = re.fullmatch(r"([0-9.]+)(Ki|Mi|Gi|Ti)?", value)
    return float(match.group(1)) * units.get(match.group(2) or "", 1)


def test_dockerfile_matches_the_rayjob():
    import sys

    dockerfile = (ROOT / "configs" / "kuberay" / "Dockerfile").read_text()
    (base,) = re.findall(r"^FROM (\S+)", dockerfile, flags=re.M)
    version = kuberay_job()["spec"]["rayClusterSpec"]["rayVersion"]
    assert base == f"rayproject/ray:{version}-py{sys.version_info.major}{sys.version_info.minor}"
    assert "make setup" in dockerfile


def grafana_dashboard():
    return json.loads((ROOT / "configs" / "grafana" / "curation_grafana_dashboard.json").read_text())


def test_grafana_dashboard_queries_our_metrics():
    dashboard = grafana_dashboard()
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    exprs = [t["expr"] for p in panels for t in p["targets"]] + \
        [v["query"] for v in variables.values() if v["type"] == "query"]
    for expr in exprs:
        metrics = set(re.findall(r"\bray_curation_\w+", expr))
        assert metrics and metrics <= EXPORTED, expr
        labels = set(re.findall(r"(\w+)\s*(?:=~|!=|=)\s*\"", expr)) | \
            {label.strip() for group in re.findall(r"by \(([^)]*)\)", expr) for label in group.split(",")}
        assert labels <= TAGS, (expr, labels - TAGS)
        for name in re.findall(r"\$(\w+)", expr):
            assert name in variables or name.startswith("__"), (expr, name)
    titles = " ".join(p["title"] for p in panels).lower()
    assert "funnel" in titles and "reason" in titles and "language" in titles
    operators = set(web_steps(CurateConfig()).names)
    assert set(variables["last_operator"]["query"].split(",")) <= operators | {"perplexity"}


@pytest.mark.parametrize("kind", ["rate", "total"])
def test_grafana_panels_cover_drops_by_reason(kind):
    drop_exprs = [t["expr"] for p in grafana_dashboard()["panels"] for t in p["targets"]
                  if "ray_curation_docs_dropped_total" in t["expr"]]
    assert any(("rate(" in e) == (kind == "rate") and "reason" in e for e in drop_exprs)


def test_grafana_provisioning_points_at_prometheus_and_this_dashboard():
    """The provisioning files configs/grafana/README.md tells users to run Grafana with: a Prometheus data source
    and a file provider whose folder (CURATION_DASHBOARDS) is where the dashboard JSON lives."""
    import yaml

    folder = ROOT / "configs" / "grafana"
    source = yaml.safe_load((folder / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (datasource,) = source["datasources"]
    assert datasource["type"] == "prometheus" and datasource["url"] == "${PROMETHEUS_URL}"
    provider = yaml.safe_load((folder / "provisioning" / "dashboards" / "curation.yml").read_text())
    (entry,) = provider["providers"]
    assert entry["type"] == "file" and entry["options"]["path"] == "${CURATION_DASHBOARDS}"
    readme = (folder / "README.md").read_text()
    assert "CURATION_DASHBOARDS=$PWD/configs/grafana" in readme and "GF_PATHS_PROVISIONING" in readme
    assert grafana_dashboard()["templating"]["list"][0]["type"] == "datasource"
