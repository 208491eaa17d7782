#!/usr/bin/env bash
# Submits a parameter sweep (a job array, one parameter set per task) and the job that
# collects and plots it once every task has succeeded; prints the job ids.
#
#   scripts/submit.sh                                    sweep chunks=4,16,64,256 x depth=2,3
#   scripts/submit.sh --sweep "ranks=2,4,8 chunks=16,64" --domains mpi -- --partition=compute
#   scripts/submit.sh --quick                            a tiny run, to check the scripts
#
#   --sweep "key=v1,v2 ..."  every combination is one array task (keys: any axis the binaries
#                            take, e.g. chunks depth streams queue_depth intensity; and ranks)
#   --domains "cpu io ..."   domains to run (default: every one that is built)
#   --quick                  tiny parameters, one repetition (seconds per task)
#   --wait                   return when both jobs have ended; exit 1 unless the collect job
#                            completed (polls squeue every 2 s)
#   -- <sbatch options>      passed to both jobs (--partition, --account, --time, --qos ...)
#
# Everything else as in scripts/slurm/common.sh (PIPEBENCH_BUILD, PIPEBENCH_RESULTS,
# PIPEBENCH_ARGS, PIPEBENCH_MODULES, ...): sbatch hands this environment to the jobs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/slurm/common.sh"

sweep="chunks=4,16,64,256 depth=2,3"
sbatch_args=()
wait=0
while [ $# -gt 0 ]; do
  case "$1" in
    --sweep) [ $# -ge 2 ] || pb_die "--sweep needs a value"; sweep=$2; shift ;;
    --domains) [ $# -ge 2 ] || pb_die "--domains needs a value"; export PIPEBENCH_DOMAINS=$2; shift ;;
    --quick) export PIPEBENCH_QUICK=1 ;;
    --wait) wait=1 ;;
    --) shift; sbatch_args=("$@"); break ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) pb_die "submit.sh: unknown argument '$1' (see --help)" ;;
  esac
  shift
done
command -v sbatch >/dev/null 2>&1 || pb_die "submit.sh: no sbatch here; run it on a Slurm login node"

mapfile -t sets < <(pb_sweep_sets "$sweep")
if [ ${#sets[@]} -eq 0 ] || [ -z "${sets[0]}" ]; then pb_die "submit.sh: --sweep '$sweep' has no parameter set"; fi
# An array task gets one allocation whatever its set: size it for the most ranks asked.
ntasks=()
max_ranks=$(tr ' ' '\n' <<<"${sets[*]}" | sed -n 's/^ranks=//p' | sort -n | tail -1)
[ -z "$max_ranks" ] || ntasks=(--ntasks="$max_ranks")

export PIPEBENCH_ROOT=$root PIPEBENCH_SWEEP=$sweep
cd "$root"  # a relative PIPEBENCH_RESULTS is relative to the checkout, as in the jobs
cluster=$(scontrol show config 2>/dev/null | sed -n 's/^ClusterName *= *//p')
results=${PIPEBENCH_RESULTS:-results}
logs="$results/${cluster:-slurm}/logs"
mkdir -p "$logs"  # Slurm opens the output files before the job starts: the folder must exist
sweep_id=$(sbatch --parsable --array="0-$((${#sets[@]} - 1))" "${ntasks[@]}" --output="$logs/%x-%A_%a.out" \
           "${sbatch_args[@]}" scripts/slurm/sweep.sbatch)
sweep_id=${sweep_id%%;*}
collect_id=$(sbatch --parsable --dependency="afterok:$sweep_id" --output="$logs/%x-%j.out" \
             "${sbatch_args[@]}" scripts/slurm/collect.sbatch "$sweep_id") ||
  pb_die "submit.sh: the collect job was not submitted; sweep $sweep_id runs without it"
collect_id=${collect_id%%;*}

echo "sweep $sweep_id: array 0-$((${#sets[@]} - 1)), ${#sets[@]} parameter set(s) of \"$sweep\""
echo "collect $collect_id: runs after every task of $sweep_id succeeds"
echo "results: $results/${cluster:-<cluster>}/${sweep_id}_<task>/ and $results/${cluster:-<cluster>}/$collect_id/ (figures, pairs.csv, summary.txt); logs: $logs/"

if [ "$wait" = 1 ]; then
  while [ -n "$(squeue -h -j "$sweep_id,$collect_id" 2>/dev/null)" ]; do sleep 2; done
  state=$(scontrol -o show job "$collect_id" 2>/dev/null | sed -n 's/.* JobState=\([A-Z_]*\).*/\1/p')
  echo "collect $collect_id: ${state:-unknown (no longer known to slurmctld)}"
  [ "$state" = COMPLETED ] || exit 1
fi
