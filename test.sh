#!/usr/bin/env bash
# The test command (README): installs what the tests need, then runs them.
# `npm ci` installs Node 24 (the `node` devDependency) into node_modules; npm scripts put
# node_modules/.bin first on PATH, so `npm test` runs on Node 24 whatever the system Node is.
set -euo pipefail
cd "$(dirname "$0")"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 22 ]; then
  echo "System Node is $(node --version 2>/dev/null || echo missing); npm ci installs Node 24 for the project's scripts (EBADENGINE warnings from this install are expected)."
fi
npm ci --no-audit --no-fund
npm test
