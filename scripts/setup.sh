#!/bin/sh
# Installs what anysnap needs to build, test and benchmark, from Debian 12's
# packages. Idempotent: packages already present are left alone.
set -eu

packages="build-essential cmake pkg-config git ca-certificates curl zip unzip python3 \
libcurl4-openssl-dev rapidjson-dev libhttp-parser-dev libcli11-dev libzip-dev \
libseccomp-dev libyaml-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev nginx-light \
clang libclang-rt-14-dev clang-format ccache"

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Node.js: any node on PATH will do (Debian's nodejs otherwise).
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"

if [ -n "$missing" ]; then
  echo "setup: installing$missing" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  # shellcheck disable=SC2086 # word splitting of the list is intended
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
