"""The Kubernetes manifests in deploy/kubernetes/: valid against the Kubernetes OpenAPI schemas
(kubernetes-validate, offline), consistent with each other, sized for what they run, and their
container arguments and environment accepted by the real `vllm serve` (the model swapped for the
default GGUF, as no hub is reachable here)."""
import json, os, pathlib, re, socket, subprocess, time, urllib.request

import kubernetes_validate
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
DIR = ROOT / "deploy/kubernetes"
BINARY = os.environ.get("VLLM_BINARY", str(ROOT / ".build/release/vllm"))
DEFAULT_MODEL = pathlib.Path.home() / ".cache/swift-vllm/models/SmolLM2-135M-Instruct.Q4_1.gguf"
KUBERNETES_VERSION = "1.30.0"
# Weight bytes of the models the manifests name (parameters × bytes per BF16 weight).
WEIGHT_BYTES = {"Qwen/Qwen2.5-1.5B-Instruct": int(1.544e9 * 2)}
UNITS = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def documents():
    docs = {}
    for path in sorted(DIR.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            docs[(doc["kind"], path.name)] = doc
    return docs


def one(kind):
    [doc] = [d for (k, _), d in documents().items() if k == kind]
    return doc


def container():
    [c] = one("Deployment")["spec"]["template"]["spec"]["containers"]
    return c


def arg(args, flag):
    return args[args.index(flag) + 1]


def size(text):
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi|KiB|MiB|GiB)?", text)
    assert m, text
    return int(m.group(1)) * UNITS.get(m.group(2), 1)


@pytest.mark.parametrize("name", sorted(p.name for p in DIR.glob("*.yaml") if p.name != "kustomization.yaml"))
def test_manifest_is_valid_kubernetes(name):
    for doc in yaml.safe_load_all((DIR / name).read_text()):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_schema_validation_catches_a_wrong_field():
    bad = json.loads(json.dumps(one("Deployment")))
    bad["spec"]["template"]["spec"]["containers"][0]["port"] = 8000
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest():
    listed = set(one("Kustomization")["resources"])
    assert listed == {p.name for p in DIR.glob("*.yaml")} - {"kustomization.yaml"}


def test_service_reaches_the_pods_and_every_reference_resolves():
    deployment, service = one("Deployment"), one("Service")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    port_names = {p["name"]: p["containerPort"] for p in container()["ports"]}
    assert service["spec"]["ports"][0]["targetPort"] in port_names
    secret = one("Secret")
    for env in container()["env"]:
        ref = env.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["name"] == secret["metadata"]["name"] and ref["key"] in secret["stringData"]
    [volume] = deployment["spec"]["template"]["spec"]["volumes"]
    assert volume["persistentVolumeClaim"]["claimName"] == one("PersistentVolumeClaim")["metadata"]["name"]
    hf_home = next(e["value"] for e in container()["env"] if e["name"] == "HF_HOME")
    assert container()["volumeMounts"][0]["mountPath"] == hf_home


def test_probes_and_scraping_use_the_servers_routes():
    c = container()
    port = c["ports"][0]
    assert port["containerPort"] == 8000
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": port["name"]}
    annotations = one("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == "/metrics" and annotations["prometheus.io/port"] == "8000"


def test_memory_request_covers_weights_and_kv_cache():
    c = container()
    weights = WEIGHT_BYTES[arg(c["args"], "--model")]
    kv = size(arg(c["args"], "--kv-cache-memory"))
    request = size(c["resources"]["requests"]["memory"])
    assert request >= weights + kv + (1 << 30)
    assert size(c["resources"]["limits"]["memory"]) >= request
    assert int(c["resources"]["requests"]["cpu"]) == int(arg(c["args"], "--threads"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_containers_arguments_and_environment_serve(tmp_path):
    """`vllm serve` with the container's args and env (secrets filled in from the Secret), the
    model replaced by the default GGUF: it serves, and /v1 wants the Secret's API key."""
    c = container()
    args = list(c["args"])
    args[args.index("--model") + 1] = str(DEFAULT_MODEL)
    args[args.index("--threads") + 1] = "2"
    port = free_port()
    secret = one("Secret")["stringData"]
    env = dict(os.environ)
    for e in c["env"]:
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        env[e["name"]] = secret[ref["key"]] if ref else e["value"]
    env["HF_HOME"] = str(tmp_path / "hf")
    proc = subprocess.Popen([BINARY, "serve", *args, "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(240):
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.5)
        else:
            pytest.fail("the server did not become healthy")
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(url + "/v1/models", timeout=10)
        assert denied.value.code == 401
        request = urllib.request.Request(url + "/v1/models", headers={"Authorization": f"Bearer {secret['api-key']}"})
        with urllib.request.urlopen(request, timeout=10) as r:
            assert json.load(r)["data"]
    finally:
        proc.terminate()
        proc.wait(timeout=60)
