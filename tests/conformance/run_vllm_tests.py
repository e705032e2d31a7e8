#!/usr/bin/env python3
"""vLLM 0.11.0's own OpenAI-server tests, run unchanged against our `vllm serve`.

1. Finds the vLLM 0.11.0 source distribution through pip's own index machinery (whatever index
   pip is configured with), downloads it once into the work directory and checks its sha256
   against the index's. None of vLLM's files are committed here.
2. Extracts the test files listed in FILES (and the package `__init__`s, `entrypoints/conftest.py`
   and `pyproject.toml`, whose pytest settings they run under), then lays `overlay/` over them:
   `tests/utils.py` (a `RemoteOpenAIServer` that starts our binary), a `tests/conftest.py` in
   place of vLLM's (which imports all of vLLM), and import stubs for the few vLLM names the
   files import.
3. Runs them with pytest in a virtual environment holding the test clients pinned as vLLM
   0.11.0 pins them (`requirements.txt`), and compares each test's outcome with
   `expectations.toml`: a failure not listed there fails the run, and so does a listed test
   that passes (the file must stay honest).

Usage: run_vllm_tests.py [--binary PATH] [--work DIR] [--file tests/…py]… [-k EXPR] [--update-report F]
"""
import argparse
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import xml.etree.ElementTree as ET

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VERSION = "0.11.0"
MODEL = pathlib.Path.home() / ".cache/swift-vllm/models/SmolLM2-135M-Instruct.Q4_1.gguf"
TOKENIZER = ROOT / "Tests/VLLMTokenizersTests/Fixtures/hf/smollm2"
VOCAB_SIZE = 49152

# The OpenAI-server test files that drive a server over HTTP (the others in those directories
# build vLLM's Python objects in-process, need multimodal inputs or GPUs).
FILES = [f"tests/entrypoints/openai/{name}.py" for name in [
    "test_async_tokenization", "test_basic", "test_chat", "test_chat_echo",
    "test_chat_logit_bias_validation", "test_chat_with_tool_reasoning", "test_chunked_prompt",
    "test_completion_with_function_calling", "test_lora_adapters", "test_metrics", "test_models",
    "test_optional_middleware", "test_prompt_validation", "test_return_token_ids",
    "test_return_tokens_as_ids", "test_root_path", "test_run_batch", "test_shutdown", "test_sleep",
    "test_tokenization", "test_uds",
]] + ["tests/v1/entrypoints/openai/test_chat_completion.py", "tests/v1/entrypoints/openai/test_completion.py"]
SUPPORT = ["pyproject.toml", "tests/__init__.py", "tests/entrypoints/__init__.py", "tests/entrypoints/conftest.py",
           "tests/entrypoints/openai/__init__.py", "tests/v1/__init__.py", "tests/v1/entrypoints/__init__.py"]

FETCH = """
import hashlib, sys
from pip._internal.commands import create_command
cmd = create_command("download")
options, _ = cmd.parse_args(["--no-deps", "vllm==%(version)s"])
with cmd.main_context():
    session = cmd.get_default_session(options)
    finder = cmd._build_package_finder(options=options, session=session)
    [link] = [c.link for c in finder.find_all_candidates("vllm")
              if str(c.version) == "%(version)s" and c.link.filename.endswith(".tar.gz")]
    response = session.get(link.url_without_fragment, stream=True)
    response.raise_for_status()
    digest = hashlib.new(link.hash_name or "sha256")
    with open(sys.argv[1], "wb") as f:
        for chunk in response.iter_content(1 << 20):
            digest.update(chunk)
            f.write(chunk)
    if link.hash and digest.hexdigest() != link.hash:
        sys.exit(f"vllm-%(version)s.tar.gz: {link.hash_name} {digest.hexdigest()} is not the index's {link.hash}")
"""


WRAPPER = """#!/usr/bin/env bash
args=()
while [[ $# -gt 0 ]]; do
  if [[ $1 == --model ]]; then args+=(--model "%(model)s" --served-model-name "$2"); shift 2
  else args+=("$1"); shift; fi
done
exec "%(binary)s" "${args[@]}"
"""


def sh(*args, **kwargs):
    return subprocess.run([str(a) for a in args], check=True, **kwargs)


def venv(work: pathlib.Path) -> pathlib.Path:
    requirements = (HERE / "requirements.txt").read_bytes()
    d = work / f"venv-{hashlib.sha256(requirements).hexdigest()[:12]}"
    python = d / "bin/python"
    if not (d / ".complete").exists():
        shutil.rmtree(d, ignore_errors=True)
        sh(sys.executable, "-m", "venv", d)
        sh(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", HERE / "requirements.txt")
        (d / ".complete").touch()
    return python


def sdist(work: pathlib.Path, python: pathlib.Path) -> pathlib.Path:
    path = work / f"vllm-{VERSION}.tar.gz"
    if not path.exists():
        partial = path.with_suffix(".partial")
        sh(python, "-c", FETCH % {"version": VERSION}, partial)
        partial.rename(path)
    return path


def extract(archive: pathlib.Path, run: pathlib.Path, files: list):
    shutil.rmtree(run, ignore_errors=True)
    prefix = f"vllm-{VERSION}/"
    with tarfile.open(archive) as tar:
        for name in SUPPORT + files:
            member = tar.getmember(prefix + name)
            target = run / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(tar.extractfile(member).read())
    shutil.copytree(HERE / "overlay", run, dirs_exist_ok=True)


def hub_cache(run: pathlib.Path, files: list) -> pathlib.Path:
    """A Hugging Face cache where every repository name the test files mention holds the default
    model's tokenizer, for tests that load a tokenizer by name (offline)."""
    home = run / "hf-home"
    names = set()
    for f in files:
        names |= set(re.findall(r'"([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)"', (run / f).read_text()))
    for name in sorted(names):
        repo = home / "hub" / ("models--" + name.replace("/", "--"))
        snapshot = repo / "snapshots" / ("0" * 40)
        snapshot.mkdir(parents=True, exist_ok=True)
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs/main").write_text("0" * 40)
        for part in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copyfile(TOKENIZER / part, snapshot / part)
    return home


def outcomes(junit: pathlib.Path) -> dict:
    result = {}
    for case in ET.parse(junit).iter("testcase"):
        # classname "tests.entrypoints.openai.test_x" + name "test_y[param]" → pytest's node id
        module = case.get("classname", "").replace(".", "/") + ".py"
        node = f"{module}::{case.get('name')}"
        kinds = {child.tag for child in case}
        result[node] = ("failed" if "failure" in kinds else "error" if "error" in kinds
                        else "skipped" if "skipped" in kinds else "passed")
    return result


def load_expectations() -> tuple:
    """Expected failures (node ids, or patterns with `*` for a test's parameter sets), and the
    tests not run at all (`deselect = true`: they cannot pass here and would only spend minutes,
    e.g. waiting for a crash our engine does not have; a pattern deselects by its prefix)."""
    data = tomllib.loads((HERE / "expectations.toml").read_text())
    expected, deselected = {}, set()
    for group in data.get("expected", []):
        for test in group["tests"]:
            expected[test] = f"{group['owner']}: {group['reason']}"
            if group.get("deselect"):
                deselected.add(test.split("*")[0])
    return expected, deselected


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=str(ROOT / ".build/release/vllm"))
    parser.add_argument("--work", default=str(pathlib.Path.home() / ".cache/swift-vllm/conformance"))
    parser.add_argument("--file", action="append", help="run only this test file (repeatable)")
    parser.add_argument("-k", help="pytest -k expression")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per test")
    args = parser.parse_args()

    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    python = venv(work)
    archive = sdist(work, python)
    files = args.file or FILES
    run = work / "run"
    extract(archive, run, files)
    expected, deselected = load_expectations()
    # `vllm` on PATH (run-batch tests call it): every --model name served from the default model.
    bin_dir = run / "bin"
    bin_dir.mkdir()
    (bin_dir / "vllm").write_text(WRAPPER % {"binary": pathlib.Path(args.binary).resolve(), "model": MODEL})
    (bin_dir / "vllm").chmod(0o755)
    adapter = subprocess.run([sys.executable, ROOT / "tests/lora/make_adapters.py", "--plain", run / "adapters", "1", "8"],
                             capture_output=True, text=True, check=True).stdout.split()[0].split("=", 1)[1]
    dropped_log = run / "dropped-flags.jsonl"
    env = {**os.environ, "PYTHONPATH": str(run / "stubs"), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "HF_HOME": str(hub_cache(run, files)), "SWIFT_VLLM_BINARY": str(pathlib.Path(args.binary).resolve()),
           "SWIFT_VLLM_DEFAULT_MODEL": str(MODEL), "SWIFT_VLLM_DEFAULT_TOKENIZER": str(TOKENIZER),
           "SWIFT_VLLM_DEFAULT_VOCAB_SIZE": str(VOCAB_SIZE), "SWIFT_VLLM_LORA_ADAPTER": adapter,
           "SWIFT_VLLM_DROPPED_FLAGS": str(dropped_log), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    junit = run / "junit.xml"
    command = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--continue-on-collection-errors", "--timeout", str(args.timeout),
               f"--junitxml={junit}", *files] + (["-k", args.k] if args.k else [])
    command += [f"--deselect={t}" for t in sorted(deselected)]
    subprocess.run([str(c) for c in command], cwd=run, env=env)

    got = outcomes(junit)
    counts = {"deselected": sum(1 for t in deselected if any(t.startswith(f) for f in files))} if deselected else {}
    for outcome in got.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    # `*` is the only wildcard (node ids hold brackets, which fnmatch would read as classes).
    patterns = [re.compile(".*".join(map(re.escape, p.split("*"))) + r"\Z", re.S) for p in expected]

    def is_expected(test):
        return any(p.match(test) for p in patterns)

    unexpected = sorted(t for t, o in got.items() if o in ("failed", "error") and not is_expected(t))
    now_passing = sorted(t for t, o in got.items() if o == "passed" and is_expected(t))
    dropped = sorted({flag for line in dropped_log.read_text().splitlines() for flag in json.loads(line)["dropped"]}) \
        if dropped_log.exists() else []
    print(f"\nvLLM {VERSION} OpenAI-server tests against {args.binary}: " +
          ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) +
          f"; {sum(1 for t, o in got.items() if o in ('failed', 'error') and is_expected(t))} of the failures expected")
    print("vLLM-only flags dropped:", ", ".join(dropped) if dropped else "none")
    for t in unexpected:
        print(f"UNEXPECTED FAILURE: {t}")
    for t in now_passing:
        print(f"EXPECTED TO FAIL BUT PASSED (remove it from expectations.toml): {t}")
    if not got:
        print("no test ran")
    sys.exit(1 if unexpected or now_passing or not got else 0)


if __name__ == "__main__":
    main()
