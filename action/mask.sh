#!/usr/bin/env bash
# Register every credential the action was given as a secret (::add-mask::) before any other
# step can print it. Values come from the environment of the step (never from the command
# line). A multi-line value is masked line by line: one add-mask command ends at its newline.
set -euo pipefail

mask() {
  local value=$1 line
  [ -n "$value" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    [ -n "$line" ] || continue
    # the runner un-escapes %25, %0D and %0A in a command's message
    line=${line//'%'/'%25'}
    printf '::add-mask::%s\n' "$line"
  done <<<"$value"
}

for name in GITHUB_TOKEN PYPI_PASSWORD PYPI_TOTP_SECRET PYPI_REMEMBER_DEVICE \
  UNRELEASE_INDEX_PASSWORD; do
  mask "${!name:-}"
done

# The forms unrelease sends or prints, where they differ from the value given: the TOTP
# secret without its spaces (authenticator apps show it in groups of four), and the cookie
# inside a remembered-device value `unrelease-rd1.<expiry>.<cookie>` (unrelease pypi-login).
totp=${PYPI_TOTP_SECRET:-}
mask "${totp//[[:space:]]/}"
device=${PYPI_REMEMBER_DEVICE:-}
device=${device#"${device%%[![:space:]]*}"}
device=${device%"${device##*[![:space:]]}"}
mask "$device"
if [[ $device == unrelease-rd1.*.* ]]; then
  mask "${device#unrelease-rd1.*.}"
fi
