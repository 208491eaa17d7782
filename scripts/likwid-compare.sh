#!/usr/bin/env bash
# The physical limit beside cpu/sumsq: likwid-bench's single-precision sum kernel for the ISA
# the suite runs (sum_sp_avx512, sum_sp_avx or sum_sp_sse), one thread, at each of the sum of
# squares' sizes, alternated in rounds with our best ilp entries and cblas_sdot. Writes one
# JSON document that scripts/summary.py joins with cpu.json.
#
#   scripts/likwid-compare.sh --cpu-binary B --sizes "16384 524288 8388608 268435456"
#                             [--isa avx512|avx2|generic] [--rounds 3] --out likwid.json
#
# A round runs, size by size, likwid-bench and then pipebench-cpu at that size (ilp with 8 and
# 16 chains, and the reference), or the other way round in every other round. likwid-bench pins
# its thread to the first hardware thread of socket 0; pipebench-cpu runs pinned to that one too
# (taskset), so that neither migrates between cores mid-stream. likwid-bench sizes
# its own iteration count (about a second per size); the sum is one load per element like ours,
# an add where ours has an FMA: both are one vector operation per vector loaded.
set -euo pipefail

cpu="" sizes="" out="" rounds=3 isa=""
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu-binary) cpu=$2; shift ;;
    --sizes) sizes=$2; shift ;;
    --isa) isa=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "likwid-compare.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$cpu" ] && [ -x "$cpu" ] || { echo "likwid-compare.sh: --cpu-binary: '$cpu' is not an executable" >&2; exit 2; }
[ -n "$sizes" ] || { echo "likwid-compare.sh: --sizes is required" >&2; exit 2; }
for s in $sizes; do
  [[ "$s" =~ ^[0-9]+$ ]] && [ "$s" -ge 1024 ] && [ $((s % 64)) -eq 0 ] ||
    { echo "likwid-compare.sh: --sizes: '$s' is not a byte count of at least 1024, a multiple of 64" >&2; exit 2; }
done
[[ "$rounds" =~ ^[0-9]+$ ]] && [ "$rounds" -gt 0 ] || { echo "likwid-compare.sh: --rounds: '$rounds' is not a positive integer" >&2; exit 2; }
[ -n "$out" ] || { echo "likwid-compare.sh: --out is required" >&2; exit 2; }
if [ -z "$isa" ]; then  # the widest the CPU runs, as pipebench-cpu picks it
  flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
  isa=generic
  [[ " $flags " == *" avx2 "* && " $flags " == *" fma "* ]] && isa=avx2
  [[ " $flags " == *" avx512f "* && " $flags " == *" avx512vl "* && " $flags " == *" avx512bw "* &&
     " $flags " == *" avx512dq "* ]] && isa=avx512
fi
case "$isa" in
  avx512) kernel=sum_sp_avx512 ;; avx2) kernel=sum_sp_avx ;; generic) kernel=sum_sp_sse ;;
  *) echo "likwid-compare.sh: --isa: '$isa' is not one of avx512, avx2, generic" >&2; exit 2 ;;
esac
command -v likwid-bench >/dev/null 2>&1 ||
  { echo "likwid-compare.sh: likwid-bench is not installed (Debian: apt-get install likwid)" >&2; exit 3; }
kernels=$(likwid-bench -a 2>/dev/null || true)  # whole, not piped into grep -q (SIGPIPE under pipefail)
grep -q "^$kernel " <<<"$kernels" ||
  { echo "likwid-compare.sh: this likwid-bench has no $kernel kernel" >&2; exit 3; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The hardware thread likwid-bench runs on (it says so), for pinning ours there too.
likwid-bench -t "$kernel" -w S0:64kB:1 -i 10 >"$tmp/probe.txt" 2>&1 ||
  { echo "likwid-compare.sh: likwid-bench -t $kernel refused to run: $(tail -n 1 "$tmp/probe.txt")" >&2; exit 3; }
pin=$(sed -n 's/.*running on hwthread \([0-9]*\).*/\1/p' "$tmp/probe.txt" | head -n 1)
[ -n "$pin" ] || pin=0

likwid_once() {  # likwid_once <bytes>: prints bytes/s (likwid-bench's MByte/s are 10^6 bytes)
  timeout 120 likwid-bench -t "$kernel" -w "S0:${1}B:1" >"$tmp/likwid.txt" 2>&1 ||
    { echo "likwid-compare.sh: likwid-bench -t $kernel -w S0:${1}B:1 failed: $(tail -n 1 "$tmp/likwid.txt")" >&2; return 1; }
  awk '/^MByte\/s:/ {printf "%.0f\n", $2 * 1e6; found = 1} END {exit !found}' "$tmp/likwid.txt" ||
    { echo "likwid-compare.sh: no MByte/s line from likwid-bench at $1 bytes" >&2; return 1; }
}

ours_once() {  # ours_once <round> <bytes>: one pipebench-cpu run into $tmp/ours-<round>-<bytes>.json
  timeout 600 taskset -c "$pin" "$cpu" --bytes "$2" --isa "$isa" --no-probe \
    --benchmark_filter='^cpu/sumsq/(ilp/.*/chains:(8|16)$|reference/)' --benchmark_repetitions=1 \
    --benchmark_out="$tmp/ours-$1-$2.json" >/dev/null 2>"$tmp/ours.err" ||
    { echo "likwid-compare.sh: $cpu failed: $(tail -n 1 "$tmp/ours.err")" >&2; return 1; }
}

# Size by size, the two back to back (a shared VM's speed drifts over seconds): a round's
# ratio at a size compares runs a second apart.
: >"$tmp/likwid-samples"
for ((r = 0; r < rounds; r++)); do
  for s in $sizes; do
    [ $((r % 2)) -eq 0 ] || ours_once "$r" "$s"
    echo "$s $(likwid_once "$s")" >>"$tmp/likwid-samples"
    [ $((r % 2)) -eq 1 ] || ours_once "$r" "$s"
  done
done

python3 - "$tmp" "$kernel" "$isa" "$rounds" "$(likwid-bench -v 2>&1 | head -n 1)" "$sizes" "$pin" >"$tmp/likwid.json" <<'EOF'
import glob, json, statistics, sys
tmp, kernel, isa, rounds, version, sizes, pin = sys.argv[1:]
likwid = {}
for line in open(f"{tmp}/likwid-samples"):
    size, rate = line.split()
    likwid.setdefault(int(size), []).append(float(rate))
ours, sdot = {}, {}
for path in sorted(glob.glob(f"{tmp}/ours-*-*.json"), key=lambda p: [int(x) for x in p[:-5].rsplit("-", 2)[1:]]):
    best = {}
    for b in json.load(open(path))["benchmarks"]:
        size, rate = int(b["pipebench"]["params"]["bytes"]), b.get("bytes_per_second")
        if rate is None:
            continue
        if b["pipebench"]["variant"] == "reference":
            sdot.setdefault(size, []).append(rate)
        else:
            best[size] = max(best.get(size, 0.0), rate)
    for size, rate in best.items():
        ours.setdefault(size, []).append(rate)
runs = []
for size in map(int, sizes.split()):
    run = {"bytes": size, "likwid_samples": likwid.get(size, []), "ours_samples": ours.get(size, []),
           "sdot_samples": sdot.get(size, [])}
    for key in ("likwid", "ours", "sdot"):
        run[f"{key}_bytes_per_s"] = statistics.median(run[f"{key}_samples"]) if run[f"{key}_samples"] else None
    runs.append(run)
json.dump({"likwid": {"version": version, "kernel": kernel, "isa": isa, "rounds": int(rounds), "threads": 1, "hwthread": int(pin),
                      "ours": "pipebench-cpu cpu/sumsq ilp (best of 8 and 16 chains) and reference (cblas_sdot)"},
           "runs": runs}, sys.stdout, indent=1)
EOF
mv "$tmp/likwid.json" "$out"
echo "likwid-compare.sh: wrote $out" >&2
