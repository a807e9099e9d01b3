#!/bin/sh
# Runs every target built by fuzz/build.sh for FUZZ_SECONDS (default 60) each, starting
# from its seed corpus in fuzz/corpus/<target>/. New inputs go to $FUZZ_DIR/corpus/<target>/
# (the seeds in the repository are never rewritten), crashes to $FUZZ_DIR/artifacts/.
# Prints each target's executions; exits 1 when any target found a crash.
set -u

cd "$(dirname "$0")/.." || exit 1
FUZZ_DIR=${FUZZ_DIR:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
status=0
summary=""

# Payloads may be large and deep; a config file is YAML text of a few KiB.
max_len() {
  case $1 in
    event_decoder) echo 65536 ;;
    *) echo 8192 ;;
  esac
}

for target in event_decoder config; do
  binary="$FUZZ_DIR/${target}_fuzzer"
  work="$FUZZ_DIR/corpus/$target"
  artifacts="$FUZZ_DIR/artifacts/$target"
  log="$FUZZ_DIR/$target.log"
  mkdir -p "$work" "$artifacts"
  echo "fuzz/run.sh: $target for ${FUZZ_SECONDS}s (log: $log)"
  "$binary" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$target")" \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "fuzz/corpus/$target" \
    >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  corpus=$(find "$work" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then
    line="$target: ${runs:-?} executions (${rate:-?}/s), no crash, $corpus inputs in $work"
  else
    line="$target: CRASH (exit $rc) after ${runs:-?} executions; see $log and $artifacts/"
    grep -E 'ERROR|SUMMARY|_fuzzer: ' "$log" | head -n 5
    status=1
  fi
  echo "$line"
  summary="$summary$line
"
done

printf '\nfuzz summary (%ss per target):\n%s' "$FUZZ_SECONDS" "$summary"
exit $status
