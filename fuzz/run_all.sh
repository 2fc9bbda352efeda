#!/usr/bin/env bash
# Builds every libFuzzer target (fuzz/*_fuzz.cpp) with clang into build-fuzz/ and runs each for a
# bounded time from its seeds (fuzz/seeds/<name>/, the name without _fuzz), printing executions
# per target. A crash, leak or sanitizer report fails the script (the reproducer is kept under
# build-fuzz/artifacts/). Skips with a message, successfully, where clang is missing.
#   bash fuzz/run_all.sh             CITADEL_FUZZ_SECONDS (default 5) per target
#   CITADEL_FUZZ_BUILD=dir           another build directory
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${CITADEL_FUZZ_SECONDS:-5}
build=${CITADEL_FUZZ_BUILD:-build-fuzz}
if ! command -v clang++ >/dev/null 2>&1 || ! command -v clang >/dev/null 2>&1; then
  echo "skipped: fuzz targets: clang not found (Debian package clang)"
  exit 0
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCITADEL_FUZZ=ON \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang >/dev/null
targets=()
for src in fuzz/*_fuzz.cpp; do targets+=("$(basename "$src" .cpp)"); done
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"

mkdir -p "$build/artifacts"
status=0
summary=""
for t in "${targets[@]}"; do
  corpus=$(mktemp -d)
  seeds="fuzz/seeds/${t%_fuzz}"
  [ -d "$seeds" ] && cp -r "$seeds"/. "$corpus"/
  log="$build/artifacts/$t.log"
  # One process, no forking; a 2 GiB RSS cap and 10 s per input make a hang or blow-up a failure.
  if "$build/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$build/artifacts/$t-" "$corpus" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
    tail -40 "$log"
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  line=$(printf '%-26s %-6s %10s executions in %ss, coverage %s edges, corpus %s files' \
    "$t" "$result" "${execs:-?}" "$seconds" "${cov:-?}" "$(ls "$corpus" | wc -l)")
  echo "$line"
  summary+="$line"$'\n'
  rm -rf "$corpus"
done
echo
echo "fuzz summary:"
printf '%s' "$summary"
exit "$status"
