#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages onsale builds and tests with,
# only those that are missing. `apt-get update` runs once, and only when there
# is something to install. Extra package names may be given as arguments;
# those after --no-recommends are installed without their recommended
# packages (gnuplot-nox: 4 packages, 3.5 MB instead of 44 and 112 MB), those
# before it with them (clang needs its recommended runtime libraries for
# -fsanitize=fuzzer).
set -euo pipefail
norec=0
is_missing() { ! dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=(); extra=()
for p in gcc make pkg-config liburing-dev libck-dev libxxhash-dev libjemalloc-dev \
         libsodium-dev libcmocka-dev libpq-dev libhiredis-dev libsystemd-dev \
         libqrencode-dev zlib1g-dev; do
  is_missing "$p" && missing+=("$p")
done
for p in "$@"; do
  if [ "$p" = --no-recommends ]; then norec=1; continue; fi
  if is_missing "$p"; then
    if [ $norec -eq 1 ]; then extra+=("$p"); else missing+=("$p"); fi
  fi
done
[ ${#missing[@]} -eq 0 ] && [ ${#extra[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]} ${extra[*]}" >&2
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
[ ${#missing[@]} -eq 0 ] || $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
[ ${#extra[@]} -eq 0 ] || $SUDO apt-get install -y -qq --no-install-recommends "${extra[@]}" >/dev/null
