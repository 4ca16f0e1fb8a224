#!/usr/bin/env bash
# Runs the fuzz targets in fuzz/ (libFuzzer) on the stable toolchain, each for SECONDS
# (default 60), from the seed corpus in fuzz/corpus/<target>. New inputs go to a scratch
# folder; a crash, a leak, an RSS over 2 GiB or a timeout fails the run and leaves the input
# in target/fuzz-artifacts/<target>/. Prints the executions per target.
#
#   scripts/fuzz.sh [SECONDS] [TARGET ...]      targets: message state ingest session
#
# With a nightly toolchain and cargo-fuzz, `cargo fuzz run <target>` works from fuzz/ too.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(message state ingest session)
triple=x86_64-unknown-linux-gnu
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
cargo build --release --locked --manifest-path fuzz/Cargo.toml --target "$triple" --target-dir target/fuzz "${bins[@]}"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t" "target/fuzz-artifacts/$t"
  log="$scratch/$t.log"
  if "target/fuzz/$triple/release/$t" "$scratch/$t" "fuzz/corpus/$t" \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
      -artifact_prefix="target/fuzz-artifacts/$t/" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
    tail -40 "$log"
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  echo "fuzz: $t: $result, $runs executions in ${seconds} s, corpus $(ls "$scratch/$t" | wc -l) new inputs"
done
exit $status
