#!/usr/bin/env bash
# The peer for pipebench-io's read stage: fio with ioengine=io_uring on the same file, block
# size, queue depths and modes, sequential reads of the whole file. Writes one JSON document
# that scripts/summary.py joins with io.json (stage_read bandwidth over fio's).
#
#   scripts/fio-compare.sh --file F --block BYTES [--queue-depths "1 4 16 32"]
#                          [--modes "direct buffered"] [--repetitions 3] --out fio.json
#
# Each (mode, queue depth) runs `repetitions` times and the median is kept; a run reads the
# file enough times (loops) to cover 256 MiB, since fio times in milliseconds. buffered: fio's
# invalidate=1 drops the file's pages before every loop (as pipebench-io drops them before each
# pass); cached: one warming run, then the page cache is measured.
set -euo pipefail

file="" block="" out="" depths="1 4 16 32" modes="direct buffered" reps=3
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --file) file=$2; shift ;;
    --block) block=$2; shift ;;
    --queue-depths) depths=$2; shift ;;
    --modes) modes=$2; shift ;;
    --repetitions) reps=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fio-compare.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$file" ] && [ -f "$file" ] && [ -r "$file" ] || { echo "fio-compare.sh: --file: '$file' is not a readable file" >&2; exit 2; }
[[ "$block" =~ ^[0-9]+$ ]] && [ "$block" -gt 0 ] || { echo "fio-compare.sh: --block: '$block' is not a positive byte count" >&2; exit 2; }
[[ "$reps" =~ ^[0-9]+$ ]] && [ "$reps" -gt 0 ] || { echo "fio-compare.sh: --repetitions: '$reps' is not a positive integer" >&2; exit 2; }
[ -n "$out" ] || { echo "fio-compare.sh: --out is required" >&2; exit 2; }
for q in $depths; do
  [[ "$q" =~ ^[0-9]+$ ]] && [ "$q" -gt 0 ] || { echo "fio-compare.sh: --queue-depths: '$q' is not a positive integer" >&2; exit 2; }
done
for m in $modes; do
  case "$m" in direct|buffered|cached) ;; *) echo "fio-compare.sh: --modes: '$m' is not one of direct, buffered, cached" >&2; exit 2 ;; esac
done
command -v fio >/dev/null 2>&1 || { echo "fio-compare.sh: fio is not installed (Debian: apt-get install fio)" >&2; exit 3; }

size=$(stat -c %s "$file")
loops=$(( (268435456 + size - 1) / size ))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One fio run; prints its read bandwidth in bytes/s. No io_uring setup option is passed: fio
# 3.33 sets up its ring with defaults (only flags liburing 2.3 knows, like pipebench-io).
fio_once() {  # fio_once <direct 0|1> <invalidate 0|1> <queue depth>
  timeout 300 fio --name=pipebench-peer --filename="$file" --rw=read --bs="$block" --size="$size" \
    --ioengine=io_uring --iodepth="$3" --direct="$1" --invalidate="$2" --loops="$loops" --thread --output-format=json \
    --output="$tmp/run.json" >/dev/null
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["jobs"][0]["read"]["bw_bytes"])' "$tmp/run.json"
}

{
  printf '{"fio": {"version": "%s", "file_bytes": %s, "block": %s, "loops": %s, "repetitions": %s, "ioengine": "io_uring"}, "runs": [' \
    "$(fio --version)" "$size" "$block" "$loops" "$reps"
  first=1
  for m in $modes; do
    case "$m" in direct) direct=1 inval=1 ;; buffered) direct=0 inval=1 ;; cached) direct=0 inval=0 ;; esac
    [ "$m" = cached ] && fio_once 0 0 1 >/dev/null  # bring the file into the page cache
    for q in $depths; do
      samples=()
      for ((r = 0; r < reps; r++)); do samples+=("$(fio_once "$direct" "$inval" "$q")"); done
      median=$(printf '%s\n' "${samples[@]}" | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}')
      [ $first -eq 1 ] || printf ', '
      first=0
      printf '{"mode": "%s", "queue_depth": %s, "bw_bytes": %s, "samples": [%s]}' "$m" "$q" "$median" \
        "$(IFS=,; echo "${samples[*]}")"
    done
  done
  printf ']}\n'
} >"$tmp/fio.json"
python3 -m json.tool "$tmp/fio.json" >/dev/null
mv "$tmp/fio.json" "$out"
echo "fio-compare.sh: wrote $out" >&2
