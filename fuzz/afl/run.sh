#!/usr/bin/env bash
# Coverage-guided fuzzing of one target with SharpFuzz + AFL++ (fuzz/README.md, "Coverage-guided runs").
#
#   fuzz/afl/run.sh TARGET MINUTES      fuzz TARGET (watch, list, service-name, balancer) for MINUTES
#   fuzz/afl/run.sh replay TARGET [DIR] replay AFL's crashes/ and hangs/ of a run through the seeded fuzzer
#
# Installs what a fresh machine lacks (afl++ from Debian, the sharpfuzz tool from .config/dotnet-tools.json),
# publishes fuzz/afl in Release, instruments the library assemblies under test and runs afl-fuzz on the committed
# corpus fuzz/corpus/TARGET. Outputs go to $LOCKFREE_AFL_ROOT/TARGET (default /tmp/lockfree-afl/TARGET):
#   bin/    the published, instrumented harness     seeds/  the corpus as AFL gets it (big seeds cut)
#   out/    afl-fuzz -o (out/default/fuzzer_stats, queue/, crashes/, hangs/)   afl.log  afl-fuzz's output
# Environment: LOCKFREE_AFL_ROOT, AFL_SEED_MAX_BYTES (default 8192), AFL_EXEC_TIMEOUT_MS (default 10000),
# AFL_EXTRA_ARGS (appended to afl-fuzz's options), HARNESS_ARGS (e.g. --out-of-process), NICE (default 19).
set -euo pipefail

# The whole script is one function, read before it runs: editing this file while a long run uses it is safe.
main() {

repo=$(cd "$(dirname "$0")/../.." && pwd)
root=${LOCKFREE_AFL_ROOT:-/tmp/lockfree-afl}
targets="watch list service-name balancer"

usage() {
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

valid_target() {
  case " $targets " in *" $1 "*) return 0 ;; *) echo "unknown target '$1' (targets: $targets)" >&2; exit 2 ;; esac
}

# Replay: every file AFL kept as a crash or hang, through the seeded fuzzer's target (same Execute), which prints
# the exception or invariant for each. Exit code 1 when any input fails there too.
if [ "${1:-}" = "replay" ]; then
  [ $# -ge 2 ] || usage
  valid_target "$2"
  out=${3:-$root/$2/out}
  inputs=$(mktemp -d)
  find "$out" -path '*/crashes/*' -o -path '*/hangs/*' | while read -r f; do
    [ -f "$f" ] && [ "$(basename "$f")" != README.txt ] && cp "$f" "$inputs/$(basename "$(dirname "$(dirname "$f")")")-$(basename "$(dirname "$f")")-$(basename "$f" | tr ',:' '__')"
  done
  echo "replaying $(find "$inputs" -type f | wc -l) crash/hang inputs from $out"
  if [ -z "$(ls -A "$inputs")" ]; then exit 0; fi
  exec dotnet run -c Release --project "$repo/fuzz" -- "$2" --replay "$inputs"
fi

[ $# -eq 2 ] || usage
target=$1
minutes=$2
valid_target "$target"
case "$minutes" in '' | *[!0-9]*) echo "MINUTES must be a whole number" >&2; exit 2 ;; esac

work=$root/$target
nice_level=${NICE:-19}
seed_max=${AFL_SEED_MAX_BYTES:-8192}
mkdir -p "$work"

# Step 1 – tools: afl++ from the distribution, the sharpfuzz instrumenter from the repository's tool manifest.
if ! command -v afl-fuzz >/dev/null; then
  echo "afl-fuzz missing: installing afl++"
  if [ "$(id -u)" -eq 0 ]; then apt-get update && apt-get install -y afl++; else sudo apt-get update && sudo apt-get install -y afl++; fi
fi
(cd "$repo" && dotnet tool restore >/dev/null)

# Step 2 – publish and instrument. Serialized with a lock: two targets started together share fuzz/afl/obj.
(
  flock 9
  rm -rf "$work/bin"
  nice -n "$nice_level" dotnet publish "$repo/fuzz/afl" -c Release -o "$work/bin" --nologo -v quiet
) 9>"${TMPDIR:-/tmp}/lockfree-afl-publish.lock" # one lock for every LOCKFREE_AFL_ROOT: they share obj/
# The target's tokens as an AFL dictionary; before instrumenting (it runs library code outside Fuzzer.Run).
dotnet "$work/bin/LockFree.Balancing.Fuzz.dll" "$target" --write-dictionary "$work/dictionary.txt"
# Only the library under test: the harness (LockFree.Balancing.Fuzz.dll, with its reference models) and the test
# fakes stay uninstrumented, so AFL's edges are the library's own branches.
for dll in "$work"/bin/LockFree.Balancing*.dll; do
  case "$(basename "$dll")" in LockFree.Balancing.Fuzz.dll | *.Fakes.dll) continue ;; esac
  (cd "$repo" && dotnet sharpfuzz "$dll")
done

# Step 3 – seeds: AFL wants small inputs; a seed over $seed_max bytes is cut after its last whole line in the limit.
rm -rf "$work/seeds"
mkdir -p "$work/seeds"
for f in "$repo/fuzz/corpus/$target"/*; do
  name=$(basename "$f")
  if [ "$(stat -c %s "$f")" -le "$seed_max" ]; then
    cp "$f" "$work/seeds/$name"
  else
    head -c "$seed_max" "$f" | sed '$d' >"$work/seeds/$name"
    [ -s "$work/seeds/$name" ] || head -c "$seed_max" "$f" >"$work/seeds/$name"
  fi
done

# Step 4 – fuzz. A previous out/ is kept beside it, never overwritten.
[ -e "$work/out" ] && mv "$work/out" "$work/out.$(date +%Y%m%d-%H%M%S)"
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
export AFL_SKIP_BIN_CHECK=1      # dotnet itself is not instrumented: the harness's assemblies are
export AFL_NO_AFFINITY=1         # shared machine: do not pin to a core another job is using
export AFL_FORKSRV_INIT_TMOUT=${AFL_FORKSRV_INIT_TMOUT:-120000}  # the runtime starts slowly on a busy machine
echo "afl-fuzz $target for $minutes min: log $work/afl.log, stats $work/out/default/fuzzer_stats"
set +e
# shellcheck disable=SC2086 # AFL_EXTRA_ARGS and HARNESS_ARGS are lists of options
nice -n "$nice_level" afl-fuzz -i "$work/seeds" -o "$work/out" -x "$work/dictionary.txt" \
  -t "${AFL_EXEC_TIMEOUT_MS:-10000}" -m none -V "$((minutes * 60))" ${AFL_EXTRA_ARGS:-} \
  -- "$(command -v dotnet)" "$work/bin/LockFree.Balancing.Fuzz.dll" "$target" ${HARNESS_ARGS:-} >"$work/afl.log" 2>&1
afl_status=$?
set -e
tail -n 5 "$work/afl.log"
stats=$work/out/default/fuzzer_stats
if [ -f "$stats" ]; then
  grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|edges_found|bitmap_cvg|saved_crashes|saved_hangs) ' "$stats"
fi
crashes=$(find "$work/out/default/crashes" "$work/out/default/hangs" -type f ! -name README.txt 2>/dev/null | wc -l)
[ "$crashes" -eq 0 ] || echo "$crashes crash/hang inputs: triage with fuzz/afl/run.sh replay $target"
exit "$afl_status"
}

main "$@"
exit
