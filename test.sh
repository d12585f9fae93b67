#!/usr/bin/env bash
# The test command (README): installs what the tests need, then runs them.
# `npm ci` installs Node 24 (the `node` devDependency) into node_modules; npm scripts put
# node_modules/.bin first on PATH, so `npm test` runs on Node 24 whatever the system Node is.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm test
