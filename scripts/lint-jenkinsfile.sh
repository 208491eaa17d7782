#!/usr/bin/env bash
# Lints a declarative Jenkinsfile (default: the repository's) with npm-groovy-lint (CodeNarc),
# failing on any warning. Jenkins itself is not needed. The linter is installed once from the
# npm registry into .deps/npm-groovy-lint (a pinned version); it needs a Java runtime
# (scripts/deps.sh: default-jre-headless). Runs without the linter's background server, so it
# leaves no process behind.
#
#   scripts/lint-jenkinsfile.sh [FILE]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
file=${1:-$root/Jenkinsfile}
version=16.2.0
prefix=$root/.deps/npm-groovy-lint
lint=$prefix/node_modules/.bin/npm-groovy-lint

[ -f "$file" ] || { echo "lint-jenkinsfile: '$file' does not exist" >&2; exit 2; }
command -v java >/dev/null || { echo "lint-jenkinsfile: no Java runtime (scripts/deps.sh installs default-jre-headless)" >&2; exit 1; }
installed() {  # the version in the package's own manifest (asking the linter would start its server)
  sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$prefix/node_modules/npm-groovy-lint/package.json" 2>/dev/null | head -n 1
}
if [ ! -x "$lint" ] || [ "$(installed)" != "$version" ]; then
  command -v npm >/dev/null || { echo "lint-jenkinsfile: npm not found (Node.js's package manager installs the linter)" >&2; exit 1; }
  mkdir -p "$prefix"
  echo "lint-jenkinsfile: installing npm-groovy-lint $version into $prefix" >&2
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "npm-groovy-lint@$version" >&2 ||
    { echo "lint-jenkinsfile: npm could not install npm-groovy-lint $version" >&2; exit 1; }
fi
# --noserver: CodeNarc runs in this process instead of a server that would outlive it.
exec timeout 300 "$lint" --noserver --failon warning --output txt "$file"
