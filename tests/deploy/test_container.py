"""The server image: built from ./Containerfile by scripts/build-image.sh (podman, a Debian base made
with debootstrap, no registry), then run the way vLLM's image is run — `podman run -p … -v <hf
cache>:/home/vllm/.cache/huggingface -e HF_TOKEN=… IMAGE --model ORG/NAME …` — and checked from the
host with the `openai` client. Ports are published on loopback only."""
import hashlib, json, os, pathlib, shutil, socket, subprocess, time, uuid

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORK = pathlib.Path(os.environ.get("WORK", "/var/tmp/swift-vllm-image"))
DEFAULT_MODEL = pathlib.Path.home() / ".cache/swift-vllm/models/SmolLM2-135M-Instruct.Q4_1.gguf"
TINY_HF = ROOT / "Tests/Fixtures/tiny-models/qwen2/hf"
HF_HOME = "/home/vllm/.cache/huggingface"


def podman(*args, check=True, timeout=120):
    p = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, "CONTAINERS_CONF": str(WORK / "containers.conf")})
    assert not check or p.returncode == 0, f"podman {' '.join(args)}: {p.stderr[-2000:]}"
    return p


@pytest.fixture(scope="module")
def image():
    if shutil.which("podman") is None and os.geteuid() != 0:
        pytest.skip("podman is not installed and installing it needs root: the image is not built here")
    p = subprocess.run([str(ROOT / "scripts/build-image.sh")], capture_output=True, text=True, timeout=3600,
                       env={**os.environ, "WORK": str(WORK)})
    assert p.returncode == 0, p.stderr[-4000:]
    return p.stdout.strip().splitlines()[-1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Container:
    """`podman run -d -p 127.0.0.1:PORT:8000 [options] IMAGE args…`, removed on exit."""

    def __init__(self, image, *args, options=()):
        self.name = "swift-vllm-test-" + uuid.uuid4().hex[:8]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        podman("run", "-d", "--name", self.name, "-p", f"127.0.0.1:{self.port}:8000", *options, image, *args)

    def __enter__(self):
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                if requests.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            state = podman("inspect", "--format", "{{.State.Status}}", self.name).stdout.strip()
            assert state == "running", f"the container stopped ({state}):\n{self.logs()}"
            time.sleep(0.3)
        raise AssertionError("the container never became healthy:\n" + self.logs())

    def __exit__(self, *exc):
        podman("rm", "-f", "-t", "0", self.name, check=False)

    def logs(self):
        return podman("logs", self.name, check=False).stderr


def make_hub_cache(root: pathlib.Path, repo: str, source: pathlib.Path, commit="0123456789abcdef0123456789abcdef01234567"):
    """huggingface_hub's layout (as tests/server/test_hf_models.py makes it), readable by the
    container's non-root user."""
    d = root / "hub" / ("models--" + repo.replace("/", "--"))
    (d / "blobs").mkdir(parents=True)
    (d / "snapshots" / commit).mkdir(parents=True)
    (d / "refs").mkdir()
    for f in source.iterdir():
        digest = hashlib.sha256(f.read_bytes()).hexdigest()
        shutil.copyfile(f, d / "blobs" / digest)
        os.symlink(f"../../blobs/{digest}", d / "snapshots" / commit / f.name)
    (d / "refs" / "main").write_text(commit)
    for p in [root, *root.rglob("*")]:
        if not p.is_symlink():
            p.chmod(0o755 if p.is_dir() else 0o644)


def test_image_is_small_non_root_and_configured_as_vllms(image):
    [info] = json.loads(podman("image", "inspect", image).stdout)
    config = info["Config"]
    assert config["User"] == "1000:1000"
    assert config["Entrypoint"] == ["vllm", "serve"]
    assert "8000/tcp" in config["ExposedPorts"]
    assert f"HF_HOME={HF_HOME}" in config["Env"]
    assert HF_HOME in config["Volumes"]
    assert config["StopSignal"] in ("SIGTERM", "15")
    # podman reports the (Docker-format) health check beside the OCI config.
    assert "/health" in " ".join(info["Healthcheck"]["Test"])
    # The toolchain stays in the build stage: a Debian base plus the one static binary.
    assert info["Size"] < 400 << 20, info["Size"]
    assert podman("run", "--rm", "--entrypoint", "id", image, "-u").stdout.strip() == "1000"
    libs = podman("run", "--rm", "--entrypoint", "ldd", image, "/usr/local/bin/vllm").stdout
    assert "not found" not in libs and "swift" not in libs.lower(), libs


def test_the_description_command_serves_the_openai_api(image, tmp_path):
    from openai import OpenAI, AuthenticationError
    cache = tmp_path / "huggingface"
    make_hub_cache(cache, "tiny-org/qwen2-tiny", TINY_HF)
    with Container(image, "--model", "tiny-org/qwen2-tiny", "--served-model-name", "tiny", "--api-key", "sk-image",
                   "--max-model-len", "256",
                   options=["-v", f"{cache}:{HF_HOME}", "-e", "HF_TOKEN=hf_unused"]) as c:
        client = OpenAI(base_url=c.url + "/v1", api_key="sk-image", max_retries=0, timeout=60)
        assert [m.id for m in client.models.list().data] == ["tiny"]
        r = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hello"}], max_tokens=5)
        assert r.usage.completion_tokens == 5 and r.choices[0].finish_reason == "length"
        with pytest.raises(AuthenticationError):
            OpenAI(base_url=c.url + "/v1", api_key="sk-wrong", max_retries=0).models.list()
        # The image's HEALTHCHECK, run as the container tool runs it.
        assert podman("healthcheck", "run", c.name, check=False).returncode == 0, c.logs()


def test_sigterm_drains_an_in_flight_stream_and_exits_0(image):
    with Container(image, "--model", "/models/smol.gguf", "--max-model-len", "512", "--log-format", "json",
                   options=["-v", f"{DEFAULT_MODEL}:/models/smol.gguf:ro"]) as c:
        r = requests.post(c.url + "/v1/completions", json={"prompt": "Once upon a time", "max_tokens": 200,
                                                           "ignore_eos": True, "stream": True}, stream=True, timeout=120)
        events = r.iter_lines(decode_unicode=True)
        assert next(e for e in events if e).startswith("data: {")
        podman("kill", "--signal", "TERM", c.name)
        deadline = time.time() + 10
        while requests.get(c.url + "/health", timeout=5).status_code == 200:
            assert time.time() < deadline, "/health never turned 503"
            time.sleep(0.02)
        rest = [e for e in events if e]
        assert rest[-1] == "data: [DONE]" and len(rest) == 200
        assert podman("wait", c.name, timeout=60).stdout.strip() == "0"
        records = [json.loads(line) for line in c.logs().splitlines() if line.startswith("{")]
        assert any(rec["message"].startswith("Draining: 1 engine requests") for rec in records), c.logs()
