#!/usr/bin/env bash
# Builds (if needed) and runs the whole test suite with CTest, then the aarch64 cross build
# (core and model layers with the NEON kernels: test_core, test_model) under qemu-user. The golden
# and architecture tests run a second time with the scalar kernels (CITADEL_ISA=scalar), and on x86
# with the AVX2 set (AVX-512 CPUs) or the SIMDe-emulated avx512 set (AVX2-only CPUs).
# Arguments go to both ctest runs (e.g. -R Kernels). CITADEL_SKIP_AARCH64=1 skips the second.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
status=0
(cd build && ctest --output-on-failure -j"$(nproc)" "$@") || status=$?
# The golden and architecture tests again with the portable kernels, so that path cannot rot
# while the SIMD sets pass (the reference-fidelity tests already run every set in one process).
echo "golden and architecture tests with CITADEL_ISA=scalar:"
(cd build && CITADEL_ISA=scalar ctest --output-on-failure -j"$(nproc)" -R 'Golden|Architecture|Llama2c' "$@") ||
  status=$?
# The avx512 kernels run natively where the CPU has AVX-512 (F/BW/VL/VNNI), else through SIMDe
# (avx512-emulated, in kernels::available() there): either way the golden and architecture tests
# also run with the set that active() does not pick, and on AVX-512 machines the kernel tests
# once more with the SIMDe build of the same source.
if [ "$(uname -m)" = x86_64 ]; then
  flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
  if [[ " $flags " == *" avx512f "* && " $flags " == *" avx512bw "* && " $flags " == *" avx512vl "* &&
        " $flags " == *" avx512_vnni "* ]]; then
    echo "golden and architecture tests with CITADEL_ISA=avx2 (this CPU picks avx512):"
    (cd build && CITADEL_ISA=avx2 ctest --output-on-failure -j"$(nproc)" -R 'Golden|Architecture|Llama2c' "$@") ||
      status=$?
    echo "kernel tests with CITADEL_ISA=avx512-emulated (the SIMDe build of the avx512 set):"
    (cd build && CITADEL_ISA=avx512-emulated ctest --output-on-failure -j"$(nproc)" \
      -R 'Kernels|Matmul|Softmax|Attention|Repack' "$@") || status=$?
  elif [[ " $flags " == *" avx2 "* ]]; then
    echo "golden and architecture tests with CITADEL_ISA=avx512-emulated (no AVX-512 here: SIMDe):"
    (cd build && CITADEL_ISA=avx512-emulated ctest --output-on-failure -j"$(nproc)" -R 'Golden|Architecture|Llama2c' "$@") ||
      status=$?
  fi
fi

# aarch64: cross-compiled with Debian's g++-aarch64-linux-gnu, run by qemu-aarch64-static (both
# installed by scripts/setup.sh). Missing tools skip this part; they never fail the suite.
aarch64_skip=""
if [ -n "${CITADEL_SKIP_AARCH64:-}" ]; then
  aarch64_skip="CITADEL_SKIP_AARCH64 is set"
elif [ "$(uname -m)" = aarch64 ]; then
  aarch64_skip="this machine is aarch64: build/ above already ran the NEON set natively"
elif ! command -v aarch64-linux-gnu-g++ >/dev/null 2>&1; then
  aarch64_skip="aarch64-linux-gnu-g++ not found (Debian package g++-aarch64-linux-gnu)"
elif ! command -v qemu-aarch64-static >/dev/null 2>&1; then
  aarch64_skip="qemu-aarch64-static not found (Debian package qemu-user-static)"
elif [ ! -f /usr/src/googletest/CMakeLists.txt ]; then
  aarch64_skip="GoogleTest sources not found in /usr/src/googletest (Debian package libgtest-dev)"
fi
if [ -n "$aarch64_skip" ]; then
  echo "skipped: aarch64 cross build and NEON tests under qemu: $aarch64_skip"
else
  echo "aarch64 cross build (build-aarch64/, NEON kernels) and its tests under qemu-aarch64-static:"
  start=$SECONDS
  cmake -S . -B build-aarch64 -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCITADEL_KERNELS_ONLY=ON >/dev/null
  if cmake --build build-aarch64 -j"$(nproc)"; then
    # qemu runs at ~1/20 the speed: one reference-fidelity case in 5 (each factor still covered).
    (cd build-aarch64 && CITADEL_FIDELITY_SAMPLE=5 ctest --output-on-failure -j"$(nproc)" "$@") || status=$?
  else
    status=1
  fi
  echo "aarch64 part: $((SECONDS - start)) s"
fi

# Every libFuzzer target built with clang (ASan + UBSan) into build-fuzz/ and run a few seconds
# each (fuzz/run_all.sh: CITADEL_FUZZ_SECONDS, executions per target); it skips with a message
# where clang is missing. CITADEL_SKIP_FUZZ=1 skips it.
if [ -n "${CITADEL_SKIP_FUZZ:-}" ]; then
  echo "skipped: fuzz targets: CITADEL_SKIP_FUZZ is set"
else
  echo "fuzz targets (clang, build-fuzz/):"
  start=$SECONDS
  bash fuzz/run_all.sh || status=1
  echo "fuzz part: $((SECONDS - start)) s"
fi
exit "$status"
