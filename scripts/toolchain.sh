# Sourced by run.sh and .ci/run. Installs nothing globally: the pinned Node.js
# and pnpm live under .tools/ (ignored by git), fetched from the npm registry.
NODE_VERSION=24.21.0
PNPM_VERSION=10.34.8
TOOLS_DIR="$PWD/.tools"

log() { printf '[toolchain] %s\n' "$*" >&2; }

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node() {
  local local_node="$TOOLS_DIR/node-$NODE_VERSION/node_modules/node/bin/node"
  if [ -x "$local_node" ]; then
    export PATH="$(dirname "$local_node"):$PATH"
  elif command -v node >/dev/null && [ "$(node_major node)" -ge 24 ]; then
    : # the machine's own Node.js is new enough
  else
    # The `node` package on the npm registry carries the official binaries.
    log "installing Node.js $NODE_VERSION into .tools/ (machine has $(node --version 2>/dev/null || echo none))"
    command -v npm >/dev/null || { log "npm is required to bootstrap Node.js"; exit 1; }
    npm install --prefix "$TOOLS_DIR/node-$NODE_VERSION" --no-save --no-package-lock \
      --no-audit --no-fund --loglevel=error "node@$NODE_VERSION" >&2
    export PATH="$(dirname "$local_node"):$PATH"
  fi
  log "node $(node --version) at $(command -v node)"
}

ensure_pnpm() {
  local pnpm_bin="$TOOLS_DIR/pnpm-$PNPM_VERSION/node_modules/.bin"
  if [ ! -x "$pnpm_bin/pnpm" ]; then
    log "installing pnpm $PNPM_VERSION into .tools/"
    npm install --prefix "$TOOLS_DIR/pnpm-$PNPM_VERSION" --no-save --no-package-lock \
      --no-audit --no-fund --loglevel=error "pnpm@$PNPM_VERSION" >&2
  fi
  export PATH="$pnpm_bin:$PATH"
}

ensure_toolchain() {
  ensure_node
  ensure_pnpm
}

ensure_dependencies() {
  # A marker keyed on the lockfile keeps repeated runs fast; CI starts clean.
  local stamp="node_modules/.install-stamp"
  local want
  want="$(sha256sum pnpm-lock.yaml package.json */package.json 2>/dev/null | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing workspace dependencies (frozen lockfile)"
    pnpm install --frozen-lockfile --reporter=append-only >&2
    echo "$want" > "$stamp"
  fi
}

# schemathesis (PyPI) for `./run.sh test:api`, in a virtualenv of its own under
# .tools/, every package at the version scripts/schemathesis/requirements.txt
# pins. Needs Python 3.11 or newer (python3, or PYTHON).
SCHEMATHESIS_VERSION=4.32.5

ensure_schemathesis() {
  local venv="$TOOLS_DIR/schemathesis-$SCHEMATHESIS_VERSION"
  local requirements="$PWD/scripts/schemathesis/requirements.txt"
  local stamp="$venv/.install-stamp"
  local want
  want="$(sha256sum "$requirements" | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    local python="${PYTHON:-python3}"
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      log "schemathesis $SCHEMATHESIS_VERSION needs Python 3.11 or newer ($python is $("$python" --version 2>&1 || echo missing))"
      exit 1
    fi
    log "installing schemathesis $SCHEMATHESIS_VERSION into .tools/ ($("$python" --version 2>&1))"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements" >&2
    echo "$want" > "$stamp"
  fi
  export SCHEMATHESIS_BIN="$venv/bin/st"
  log "schemathesis $("$SCHEMATHESIS_BIN" --version | awk '{print $NF}') at $SCHEMATHESIS_BIN"
}
