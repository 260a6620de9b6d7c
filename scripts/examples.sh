#!/usr/bin/env bash
# Set up everything (assembler, .venv) and check every example pair shipped in examples/.
# Each example is a folder with source.s, candidate.s, `expect` (the verdict it should get) and
# optionally `args` (extra options for `a64eq check`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
declare -A status_of=([equivalent]=0 [not_equivalent]=1)
failures=0
for dir in examples/*/; do
  dir=${dir%/}
  expect=$(cat "$dir/expect")
  args=$(cat "$dir/args" 2>/dev/null || true)
  echo "=== $dir ${args:+($args) }(expected: $expect)"
  set +e
  # shellcheck disable=SC2086  # args holds several words on purpose
  .venv/bin/a64eq check $args "$dir/source.s" "$dir/candidate.s"
  code=$?
  set -e
  if [ "$code" != "${status_of[$expect]:-2}" ]; then
    echo "!!! $dir: exit status $code does not match the expected verdict $expect"
    failures=$((failures + 1))
  fi
  echo
done
echo "examples: $failures unexpected"
[ "$failures" -eq 0 ]
