#!/bin/sh
# Installs and builds what the conformance suite (conformance/, ctest's
# conformance_* tests) runs, each at a pinned version from its own registry:
#   AWS's Runtime Interface Emulator    Go module proxy  -> build/conformance/bin/aws-lambda-rie
#   awslambdaric (Python client)        PyPI             -> build/conformance/python/site
#   aws-lambda-go (Go client)           Go module proxy  -> build/conformance/go/bootstrap
#   the Java runtime interface client   Maven Central    -> build/conformance/java/{classes,lib}
#   lambda_runtime (Rust client)        crates.io        -> build/conformance/rust/bootstrap
# (aws-lambda-ric, the Node.js client, comes from npm through scripts/test-deps.sh.)
# A step whose inputs have not changed since it last passed is skipped (a stamp
# per step in build/conformance/); Go's, cargo's and Maven's own caches keep a
# rebuild cheap. A toolchain is installed from Debian only where it is missing.
# A registry that cannot be reached fails the setup with one line naming the
# package; the tool's own output is kept in build/conformance/setup.log.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
out=$root/build/conformance
log=$out/setup.log
mkdir -p "$out/bin"
: >"$log"

RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator
# The emulator's releases (v1.29 and on) are served as this pseudo-version.
RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d

# fail WHAT: the one line, then stop.
fail() {
  echo "conformance-deps: cannot install $1 (details: $log)" >&2
  exit 1
}

# fresh NAME INPUTS...: true when step NAME already passed with these inputs.
fresh() {
  name=$1
  shift
  sum=$( (echo "$@"; cat "$@" 2>/dev/null) | sha256sum | cut -d' ' -f1)
  [ -f "$out/$name.stamp" ] && [ "$(cat "$out/$name.stamp")" = "$sum" ]
}
stamp() {
  name=$1
  shift
  (echo "$@"; cat "$@" 2>/dev/null) | sha256sum | cut -d' ' -f1 >"$out/$name.stamp"
}

# need TOOL DEBIAN-PACKAGES...: installs the packages when TOOL is missing.
need() {
  tool=$1
  shift
  command -v "$tool" >/dev/null 2>&1 && return 0
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get install -y --no-install-recommends "$@" >>"$log" 2>&1 || fail "$* (Debian, for $tool)"
}

need go golang-go
need python3 python3 python3-pip
need java default-jdk-headless
need mvn maven
need cargo cargo

# The emulator.
if ! fresh rie "$0" || [ ! -x "$out/bin/aws-lambda-rie" ]; then
  GOBIN=$out/bin go install "$RIE_MODULE/cmd/aws-lambda-rie@$RIE_VERSION" >>"$log" 2>&1 ||
    fail "$RIE_MODULE@$RIE_VERSION from the Go module proxy"
  stamp rie "$0"
fi

# Python: the client and what it needs, pinned, no resolver surprises.
if ! fresh python conformance/python/requirements.txt || [ ! -d "$out/python/site/awslambdaric" ]; then
  rm -rf "$out/python/site"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --only-binary :all: \
    --target "$out/python/site" -r conformance/python/requirements.txt >>"$log" 2>&1 ||
    fail "$(grep -v '^#' conformance/python/requirements.txt | tr '\n' ' ')from PyPI"
  stamp python conformance/python/requirements.txt
fi

# Go: go.sum pins aws-lambda-go; the build cache makes a rebuild cheap.
if ! fresh go conformance/go/go.mod conformance/go/go.sum conformance/go/main.go ||
  [ ! -x "$out/go/bootstrap" ]; then
  (cd conformance/go && go mod download >>"$log" 2>&1) ||
    fail "github.com/aws/aws-lambda-go $(grep aws-lambda-go conformance/go/go.mod | awk '{print $NF}') from the Go module proxy"
  (cd conformance/go && CGO_ENABLED=0 go build -trimpath -o "$out/go/bootstrap" . >>"$log" 2>&1) ||
    fail "the Go conformance function (build failed)"
  stamp go conformance/go/go.mod conformance/go/go.sum conformance/go/main.go
fi

# Java: the runtime interface client from Maven Central, the handler compiled.
java_inputs="conformance/java/pom.xml conformance/java/src/main/java/conformance/Handler.java"
# shellcheck disable=SC2086 # a list of paths without spaces
if ! fresh java $java_inputs || [ ! -d "$out/java/lib" ]; then
  rm -rf "$out/java"
  mvn -q -B -f conformance/java/pom.xml package -Dout="$out/java" >>"$log" 2>&1 ||
    fail "com.amazonaws:aws-lambda-java-runtime-interface-client $(sed -n 's:.*<version>\(2\.[0-9.]*\)</version>.*:\1:p' conformance/java/pom.xml | head -1) from Maven Central"
  # shellcheck disable=SC2086
  stamp java $java_inputs
fi

# Rust: Cargo.lock pins lambda_runtime and everything under it; the first
# build (tokio, hyper) is the slow step of this setup, later ones are cached.
rust_inputs="conformance/rust/Cargo.toml conformance/rust/Cargo.lock conformance/rust/src/main.rs"
# shellcheck disable=SC2086
if ! fresh rust $rust_inputs || [ ! -x "$out/rust/bootstrap" ]; then
  cargo fetch --locked --manifest-path conformance/rust/Cargo.toml >>"$log" 2>&1 ||
    fail "lambda_runtime $(sed -n 's/^lambda_runtime = .*version = "=\{0,1\}\([0-9.]*\)".*/\1/p' conformance/rust/Cargo.toml) from crates.io"
  cargo build --locked --release --manifest-path conformance/rust/Cargo.toml \
    --target-dir "$out/rust/target" >>"$log" 2>&1 || fail "the Rust conformance function (build failed)"
  cp "$out/rust/target/release/conformance" "$out/rust/bootstrap"
  # shellcheck disable=SC2086
  stamp rust $rust_inputs
fi
