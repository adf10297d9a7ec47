#!/usr/bin/env bash
# Install unrelease into its own virtual environment under $RUNNER_TEMP: the pinned, hashed
# wheels of action/requirements.txt (no resolver, no build), and the action's own source
# through a .pth file (no wheel build, no build backend to download). A second use of the
# action in the same job, with the same Python and the same action, reuses the environment.
#
# Input: UNRELEASE_SETUP_PYTHON (from actions/setup-python) or UNRELEASE_RUNNER_PYTHON.
# Output: python=PATH of the environment's interpreter.
#
# UNRELEASE_ACTION_VENV=DIR (documented test and air-gap switch): use the existing environment
# DIR as it is instead of installing; it must already have unrelease and its dependencies.
#
# Every Python runs with -I: the working directory (the workspace) is not on sys.path, so no
# module there (a packaging/ or pip/) can stand in for the real one.
set -euo pipefail

action_path=${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}
base=${UNRELEASE_SETUP_PYTHON:-${UNRELEASE_RUNNER_PYTHON:-}}

interpreter() {
  if [ -x "$1/bin/python" ]; then echo "$1/bin/python"; else echo "$1/Scripts/python.exe"; fi
}

if [ -n "${UNRELEASE_ACTION_VENV:-}" ]; then
  python=$(interpreter "$UNRELEASE_ACTION_VENV")
  echo "Using the existing environment $UNRELEASE_ACTION_VENV (UNRELEASE_ACTION_VENV)"
else
  if [ -z "$base" ]; then
    echo "::error title=unrelease::no Python to install unrelease with"
    exit 1
  fi
  requirements="$action_path/action/requirements.txt"
  key=$("$base" -I - "$requirements" "$action_path" <<'PY'
import hashlib, sys
h = hashlib.sha256(open(sys.argv[1], "rb").read())
h.update(f"\0{sys.argv[2]}\0{sys.executable}\0{sys.version}".encode())
print(h.hexdigest()[:16])
PY
)
  venv="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/unrelease-$key"
  python=$(interpreter "$venv")
  if [ -f "$venv/.unrelease-complete" ]; then
    echo "Reusing $venv"
  else
    echo "::group::Installing unrelease into $venv"
    started=$SECONDS
    rm -rf "$venv"
    # --no-compile: byte-compiling every installed module took ~5 s of a ~10 s cold install;
    # unrelease imports a small part of them once per run, and Python compiles those in memory.
    pip_args=(install --disable-pip-version-check --no-input --quiet --no-compile
      --require-hashes --no-deps --only-binary=:all: -r "$requirements")
    if "$base" -I -c 'import pip, sys
sys.exit(tuple(int(x) for x in pip.__version__.split(".")[:2]) < (22, 3))' 2>/dev/null; then
      # The base Python's pip installs into a venv made without pip: saves ensurepip (~2.5 s).
      "$base" -I -m venv --without-pip "$venv"
      python=$(interpreter "$venv")
      "$base" -I -m pip --python "$python" "${pip_args[@]}"
    else
      "$base" -I -m venv "$venv"
      python=$(interpreter "$venv")
      "$python" -I -m pip "${pip_args[@]}"
    fi
    site=$("$python" -I -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
    printf '%s\n' "$action_path/src" >"$site/unrelease-action.pth"
    touch "$venv/.unrelease-complete"
    echo "Installed in $((SECONDS - started)) s"
    echo "::endgroup::"
  fi
fi

"$python" -I -m unrelease --version
printf 'python=%s\n' "$python" >>"$GITHUB_OUTPUT"
