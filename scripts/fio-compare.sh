#!/usr/bin/env bash
# The peer for pipebench-io's read stage: fio with ioengine=io_uring on the same file, block
# size, queue depths and modes, sequential reads of the whole file, alternated in rounds with
# our stage_read so that a disk whose speed drifts favours neither. Writes one JSON document
# that scripts/summary.py joins with io.json.
#
#   scripts/fio-compare.sh --file F --block BYTES [--queue-depths "1 4 16 32"]
#                          [--modes "direct buffered"] [--rounds 3] [--io-binary B] --out fio.json
#
# fio runs twice per point and round: at its defaults, and at its best with the features our
# reader uses (registered buffers fixedbufs=1, registered file registerfiles=1); --io-binary
# (pipebench-io) adds our stage_read between them, the three in an order that turns with the
# round. Each fio run reads the file enough times (loops) to cover 1 GiB; ours repeats its pass
# for at least a second. buffered: fio's invalidate=1 drops the file's pages before every loop
# (as pipebench-io drops them before each pass); cached: one warming run, then the page cache.
set -euo pipefail

file="" block="" out="" depths="1 4 16 32" modes="direct buffered" rounds=3 io=""
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --file) file=$2; shift ;;
    --block) block=$2; shift ;;
    --queue-depths) depths=$2; shift ;;
    --modes) modes=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --io-binary) io=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fio-compare.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$file" ] && [ -f "$file" ] && [ -r "$file" ] || { echo "fio-compare.sh: --file: '$file' is not a readable file" >&2; exit 2; }
[[ "$block" =~ ^[0-9]+$ ]] && [ "$block" -gt 0 ] || { echo "fio-compare.sh: --block: '$block' is not a positive byte count" >&2; exit 2; }
[[ "$rounds" =~ ^[0-9]+$ ]] && [ "$rounds" -gt 0 ] || { echo "fio-compare.sh: --rounds: '$rounds' is not a positive integer" >&2; exit 2; }
[ -n "$out" ] || { echo "fio-compare.sh: --out is required" >&2; exit 2; }
for q in $depths; do
  [[ "$q" =~ ^[0-9]+$ ]] && [ "$q" -gt 0 ] || { echo "fio-compare.sh: --queue-depths: '$q' is not a positive integer" >&2; exit 2; }
done
for m in $modes; do
  case "$m" in direct|buffered|cached) ;; *) echo "fio-compare.sh: --modes: '$m' is not one of direct, buffered, cached" >&2; exit 2 ;; esac
done
[ -z "$io" ] || [ -x "$io" ] || { echo "fio-compare.sh: --io-binary: '$io' is not an executable" >&2; exit 2; }
command -v fio >/dev/null 2>&1 || { echo "fio-compare.sh: fio is not installed (Debian: apt-get install fio)" >&2; exit 3; }

size=$(stat -c %s "$file")
loops=$(( (1073741824 + size - 1) / size ))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
best_options="fixedbufs=1 registerfiles=1"

# One fio run; prints its read bandwidth in bytes/s. No io_uring setup option is passed: fio
# 3.33 sets up its ring with defaults (only flags liburing 2.3 knows, like pipebench-io).
fio_once() {  # fio_once <direct 0|1> <invalidate 0|1> <queue depth> [extra fio options...]
  local direct=$1 inval=$2 q=$3
  shift 3
  timeout 300 fio --name=pipebench-peer --filename="$file" --rw=read --bs="$block" --size="$size" \
    --ioengine=io_uring --iodepth="$q" --direct="$direct" --invalidate="$inval" --loops="$loops" --thread \
    "$@" --output-format=json --output="$tmp/run.json" >/dev/null
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["jobs"][0]["read"]["bw_bytes"])' "$tmp/run.json"
}

# Our read stage alone at the same point; prints its bandwidth in bytes/s.
ours_once() {  # ours_once <mode> <queue depth>
  timeout 300 "$io" --file "$file" --block "$block" --queue-depth "$2" --mode "$1" --no-probe \
    --benchmark_filter='^io/read/stage_read/' --benchmark_repetitions=1 --benchmark_min_time=1 \
    --benchmark_out="$tmp/ours.json" >/dev/null 2>"$tmp/ours.err" ||
    { echo "fio-compare.sh: $io failed: $(tail -n 1 "$tmp/ours.err")" >&2; return 1; }
  python3 -c '
import json, sys
rates = [b["bytes_per_second"] for b in json.load(open(sys.argv[1]))["benchmarks"] if "bytes_per_second" in b]
if len(rates) != 1: sys.exit("fio-compare.sh: expected one stage_read entry, got %d" % len(rates))
print(rates[0])' "$tmp/ours.json"
}

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
join() { local IFS=,; echo "$*"; }

declare -A fio_default fio_best ours
for m in $modes; do
  case "$m" in direct) direct=1 inval=1 ;; buffered) direct=0 inval=1 ;; cached) direct=0 inval=0 ;; esac
  [ "$m" = cached ] && fio_once 0 0 1 >/dev/null  # bring the file into the page cache
  for ((r = 0; r < rounds; r++)); do
    for q in $depths; do
      kinds=(default best)
      [ -z "$io" ] || kinds+=(ours)
      for ((i = 0; i < ${#kinds[@]}; i++)); do
        kind=${kinds[$(( (i + r) % ${#kinds[@]} ))]}
        case "$kind" in
          default) fio_default[$m,$q]+=" $(fio_once "$direct" "$inval" "$q")" ;;
          best) fio_best[$m,$q]+=" $(fio_once "$direct" "$inval" "$q" --fixedbufs=1 --registerfiles=1)" ;;
          ours) ours[$m,$q]+=" $(ours_once "$m" "$q")" ;;
        esac
      done
    done
  done
done

{
  printf '{"fio": {"version": "%s", "file_bytes": %s, "block": %s, "loops": %s, "rounds": %s, "ioengine": "io_uring", ' \
    "$(fio --version)" "$size" "$block" "$loops" "$rounds"
  printf '"best_options": "%s", "ours": %s}, "runs": [' "$best_options" "$([ -n "$io" ] && echo '"pipebench-io stage_read"' || echo null)"
  first=1
  for m in $modes; do
    for q in $depths; do
      [ $first -eq 1 ] || printf ', '
      first=0
      # shellcheck disable=SC2086  # the samples are space-separated on purpose
      printf '{"mode": "%s", "queue_depth": %s, "bw_bytes": %s, "samples": [%s], "default_bw_bytes": %s, "default_samples": [%s]' \
        "$m" "$q" "$(median ${fio_best[$m,$q]})" "$(join ${fio_best[$m,$q]})" \
        "$(median ${fio_default[$m,$q]})" "$(join ${fio_default[$m,$q]})"
      # shellcheck disable=SC2086
      [ -z "$io" ] || printf ', "ours_bw_bytes": %s, "ours_samples": [%s]' "$(median ${ours[$m,$q]})" "$(join ${ours[$m,$q]})"
      printf '}'
    done
  done
  printf ']}\n'
} >"$tmp/fio.json"
python3 -m json.tool "$tmp/fio.json" >/dev/null
mv "$tmp/fio.json" "$out"
echo "fio-compare.sh: wrote $out" >&2
