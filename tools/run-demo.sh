#!/usr/bin/env bash
# run-demo.sh BUILD: what `make run` starts. Until the network server exists
# (issue 4) this is the in-process engine demo: an on-sale to sold out.
set -euo pipefail
build=${1:-build}
exec "$build/bin/onsale-demo"
