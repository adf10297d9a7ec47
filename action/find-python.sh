#!/usr/bin/env bash
# Use the runner's python3 when it can run unrelease (CPython 3.11 to 3.14, the range
# action/requirements.txt has wheels for, with venv and ensurepip); otherwise the next step
# sets one up with actions/setup-python. Outputs: ok=true|false, python=PATH.
set -euo pipefail

check='import sys, venv, ensurepip
ok = sys.implementation.name == "cpython" and (3, 11) <= sys.version_info[:2] <= (3, 14)
print(sys.executable if ok else "")'

found=""
if command -v python3 >/dev/null 2>&1 && out=$(python3 -I -c "$check" 2>/dev/null); then
  found=$out
fi
if [ -n "$found" ] && [ -x "$found" ]; then
  echo "Using the runner's $(python3 --version) at $found"
  printf 'ok=true\npython=%s\n' "$found" >>"$GITHUB_OUTPUT"
else
  echo "The runner's python3 cannot run unrelease (needs CPython 3.11-3.14 with venv):" \
    "setting one up"
  printf 'ok=false\n' >>"$GITHUB_OUTPUT"
fi
