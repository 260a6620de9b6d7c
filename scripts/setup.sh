#!/usr/bin/env bash
# Idempotent set-up on Debian/Ubuntu: the GNU assembler for AArch64 and a virtual environment (.venv)
# with a64eq installed in editable mode. Sourced by examples.sh and test.sh; safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {  # apt_install PACKAGE... : install what is missing, updating the package lists once
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing ${missing[*]}" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

apt_install binutils-aarch64-linux-gnu
# The test suite also drives a real browser and validates the compose file.
if [ "${A64EQ_TEST_SYSTEM_PACKAGES:-0}" = 1 ]; then
  apt_install chromium chromium-driver docker-compose
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "setup: a64eq needs Python 3.11 (pyvex 9.2 has no wheels for other versions); set PYTHON=" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv

# Reinstall only when the dependency list changed.
EXTRAS=${A64EQ_EXTRAS:-test}
stamp=".venv/.a64eq-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $EXTRAS"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e ".[$EXTRAS]"
  echo "$want" > "$stamp"
fi
