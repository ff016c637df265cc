#!/bin/sh
# Installs the runtimes' own packages that the black-box tests run for real:
# AWS's Node.js runtime interface client from npm, into build/node_modules.
set -eu
cd "$(dirname "$0")/.."
if [ ! -f build/node_modules/aws-lambda-ric/package.json ]; then
  mkdir -p build
  npm install --prefix build --no-audit --no-fund --loglevel=error aws-lambda-ric@4 >/dev/null
fi
