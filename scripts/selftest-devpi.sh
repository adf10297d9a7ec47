#!/usr/bin/env bash
# The self-test's index (.github/workflows/selftest.yml): a devpi-server on 127.0.0.1 with the
# index rel/dev holding a tiny package "selftest-pkg" at 1.0.0, 1.1.0 and 1.2.0, built with
# hatchling and uploaded with twine. Writes index=URL to $GITHUB_OUTPUT.
# The account's password is a throwaway for a server that lives as long as the job.
set -euo pipefail

work=${RUNNER_TEMP:?}/selftest-devpi
port=3141
root="http://127.0.0.1:$port"
user=rel
password=selftest-only-password
rm -rf "$work" && mkdir -p "$work"

python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  devpi-server==6.20.3 twine==7.0.0 build==1.6.1 hatchling==1.33.0

"$work/venv/bin/devpi-init" --serverdir "$work/server" --no-root-pypi
nohup "$work/venv/bin/devpi-server" --serverdir "$work/server" --host 127.0.0.1 \
  --port "$port" --offline-mode >"$work/server.log" 2>&1 &

for _ in $(seq 120); do
  curl -fsS "$root/+api" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "$root/+api" >/dev/null

json=(-H "Accept: application/json" -H "Content-Type: application/json")
curl -fsS "${json[@]}" -X PUT "$root/$user" \
  -d "{\"password\": \"$password\", \"email\": \"rel@example.invalid\"}" >/dev/null
curl -fsS "${json[@]}" -u "$user:$password" -X PUT "$root/$user/dev" \
  -d '{"bases": [], "volatile": true}' >/dev/null

for version in 1.0.0 1.1.0 1.2.0; do
  project="$work/src/$version"
  mkdir -p "$project/src/selftest_pkg"
  echo "__version__ = \"$version\"" >"$project/src/selftest_pkg/__init__.py"
  cat >"$project/pyproject.toml" <<TOML
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "selftest-pkg"
version = "$version"

[tool.hatch.build.targets.wheel]
packages = ["src/selftest_pkg"]
TOML
  "$work/venv/bin/python" -m build --no-isolation --outdir "$work/dist" "$project" >/dev/null
done
TWINE_PASSWORD=$password "$work/venv/bin/twine" upload --non-interactive \
  --disable-progress-bar --repository-url "$root/$user/dev/" -u "$user" "$work"/dist/*

printf 'index=%s\n' "$root/$user/dev/" >>"$GITHUB_OUTPUT"
