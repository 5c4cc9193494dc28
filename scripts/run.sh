#!/usr/bin/env bash
# Entry point of the README: installs missing Debian packages (make included), then runs a
# Makefile target: `demo` (the whole study) or `test` (the test suite).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install_deps.sh
exec make "${@:-demo}"
