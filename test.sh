#!/usr/bin/env bash
# The test command (README): installs what the tests need, then runs them.
# `npm install` installs Node 24 (the `node` devDependency) into node_modules; npm scripts put
# node_modules/.bin first on PATH, so `npm test` runs on Node 24 whatever the system Node is.
set -euo pipefail
cd "$(dirname "$0")"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 22 ]; then
  echo "System Node is $(node --version 2>/dev/null || echo missing); npm install installs Node 24 for the project's scripts (EBADENGINE warnings from this install are expected)."
fi
# `npm install`, not `npm ci`: chdb lists per-platform engine packages as optional dependencies,
# and only linux-x64 is published to the registry these machines reach, so npm never records the
# others in the lock file and `npm ci` refuses the lock as out of sync. With the lock file present,
# `npm install` installs exactly the locked versions (checked below) and skips the absent ones.
npm install --no-audit --no-fund
git diff --quiet -- package-lock.json 2>/dev/null || { echo "npm install changed package-lock.json: commit the lock file that matches package.json" >&2; exit 1; }
# The real OpenTelemetry Collector the collector tests run: built once per version into a cache outside the checkout.
PATH="$PWD/node_modules/.bin:$PATH" node scripts/test-binaries/collector.ts
# The control plane (kube-apiserver, etcd, controller-manager, scheduler, kwok) the real-cluster tests run; same cache.
PATH="$PWD/node_modules/.bin:$PATH" node scripts/test-binaries/control-plane.ts
# The real Claude Code client (npm @anthropic-ai/claude-code, pinned, native binary from the npm registry) the end-to-end tests drive; same cache, never a package dependency.
PATH="$PWD/node_modules/.bin:$PATH" node scripts/test-binaries/claude-code.ts
# Headless Chromium for the `report --html` page test: Debian's package, never a browser download.
if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "Installing Debian's chromium package (the report --html test renders the page in it)"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
npm test
