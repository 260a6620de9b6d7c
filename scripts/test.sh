#!/usr/bin/env bash
# Set up everything (assembler, .venv) and run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
A64EQ_TEST_SYSTEM_PACKAGES=1 source scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
