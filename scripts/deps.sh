#!/usr/bin/env bash
# Installs the Debian packages pipebench needs, when it can (root, or sudo without a
# password); otherwise names what is missing and how to install it. Exit 0 when all are there.
# python3-scipy: scripts/compare.py's significance test; a Java runtime: the Jenkinsfile's
# linter (scripts/lint-jenkinsfile.sh, which installs the linter itself from npm); iproute2,
# iputils-ping, iperf3: scripts/cluster.sh's hosts and the probe of their links.
set -euo pipefail

packages=(cmake g++ make pkg-config python3 git
          libbenchmark-dev libgtest-dev libhwloc-dev libopenblas-dev libcli11-dev
          liburing-dev fio libopenmpi-dev openmpi-bin python3-matplotlib python3-jsonschema
          python3-scipy default-jre-headless likwid iproute2 iputils-ping iperf3)

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "pipebench: not a Debian system; make sure the equivalents of these are installed: ${packages[*]}" >&2
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo)
else
  echo "pipebench: missing Debian packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "pipebench: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >&2
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
