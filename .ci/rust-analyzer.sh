#!/usr/bin/env bash
# rust-analyzer must not report an error on traced code that rustc accepts (issue 13: a sync
# `#[traced]` fn once showed a false E0425 on its attribute). The fixture crate
# ui-tests/ra-fixture holds traced fns of every shape (sync, async, methods, impl blocks,
# traits); rustc must build it cleanly, then `rust-analyzer diagnostics` must report no error.
set -euo pipefail
cd "$(dirname "$0")/.."

# The rustup proxy exists without the component; ask the tool itself.
if ! rust-analyzer --version >/dev/null 2>&1; then
  rustup component add rust-analyzer
fi

fixture=ui-tests/ra-fixture

echo "== cargo check $fixture (rustc)"
cargo check --quiet --manifest-path "$fixture/Cargo.toml"

echo "== rust-analyzer diagnostics $fixture"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
rust-analyzer diagnostics "$fixture" >"$log" 2>&1 || status=$?
# Progress lines end in carriage returns; each diagnostic reads "file <path>: <Severity> ...".
errors=$(tr '\r' '\n' <"$log" | grep -o 'file [^:]*: Error .*' || true)
if [ -n "$errors" ]; then
  echo "rust-analyzer reports errors that rustc does not:"
  echo "$errors"
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "rust-analyzer diagnostics failed (exit $status):"
  tail -n 20 "$log"
  exit "$status"
fi
echo "rust-analyzer: no errors"
