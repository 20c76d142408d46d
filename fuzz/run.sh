#!/usr/bin/env bash
# Runs the fuzz targets: `fuzz/run.sh SECONDS [TARGET...]` (every target when none is named),
# each for SECONDS, on one core, starting from the seeds in fuzz/seeds/TARGET plus what
# earlier runs found (fuzz/corpus/TARGET, not committed). A crash stops the run with libFuzzer's
# report and leaves the input in fuzz/artifacts/TARGET/; make it a regression test (see README).
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
seconds="${1:?usage: fuzz/run.sh SECONDS [TARGET...]}"
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
cargo +nightly fuzz build -O
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  dict=()
  [ -f "dicts/$t.dict" ] && dict=("-dict=dicts/$t.dict")
  echo "== fuzz $t for ${seconds}s"
  cargo +nightly fuzz run -O "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" 2>&1 |
    grep -E '^(==|INFO: Seed|#[0-9]+ *DONE|stat::number_of_executed_units|stat::peak_rss|SUMMARY|.*panicked|Done)' || true
  if [ -n "$(ls -A "artifacts/$t" 2>/dev/null)" ]; then
    echo "fuzz target $t found a crash: fuzz/artifacts/$t/" >&2
    ls "artifacts/$t" >&2
    exit 1
  fi
done
