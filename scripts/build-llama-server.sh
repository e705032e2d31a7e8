#!/usr/bin/env bash
# Builds llama.cpp's `llama-server` (the serving peer of scripts/bench-serve.py) from the llama.cpp
# sources vendored in the llama-cpp-python source distribution on PyPI, natively optimized for
# this CPU, with cmake from pip. Prints the binary's path. Reuses an earlier build.
#   scripts/build-llama-server.sh [TARGET...]   (default llama-server; e.g. llama-batched-bench,
#   the offline-throughput peer of scripts/bench-all.py, from the same source tree and build dir)
#   LLAMA_DIR (default ~/.cache/swift-vllm/llama.cpp), LLAMA_CPP_PYTHON_VERSION (default 0.3.36)
set -euo pipefail
version="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
dir="${LLAMA_DIR:-$HOME/.cache/swift-vllm/llama.cpp}"
targets=("${@:-llama-server}")
missing=()
for t in "${targets[@]}"; do
  [ -x "$dir/build/bin/$t" ] || missing+=("$t")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ ! -f "$dir/build/CMakeCache.txt" ]; then
    mkdir -p "$dir"
    command -v cmake >/dev/null || python3 -m pip install --quiet cmake >&2
    sdist="$dir/llama_cpp_python-$version.tar.gz"
    if [ ! -f "$sdist" ]; then
      # Through pip's own index settings (`pip download --no-binary` would also build the
      # package's metadata, which compiles its build backend from source first).
      python3 "$(dirname "$0")/fetch-sdist.py" llama-cpp-python "$version" "$sdist"
    fi
    tar -xzf "$sdist" -C "$dir"
    src="$dir/llama_cpp_python-$version/vendor/llama.cpp"
    cmake -S "$src" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DGGML_NATIVE=ON \
      -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON >&2
  fi
  command -v cmake >/dev/null || python3 -m pip install --quiet cmake >&2
  cmake --build "$dir/build" --target "${missing[@]}" -j "$(nproc)" >&2
fi
for t in "${targets[@]}"; do
  echo "$dir/build/bin/$t"
done
