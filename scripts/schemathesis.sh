#!/usr/bin/env bash
# `./run.sh test:api`: schemathesis against both APIs' OpenAPI documents
# (scripts/schemathesis.ts). Installs the pinned schemathesis into .tools/
# on first use; needs no Kafka or PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh
ensure_schemathesis
exec node scripts/schemathesis.ts "$@"
