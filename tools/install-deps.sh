#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages onsale builds and tests with,
# only those that are missing. `apt-get update` runs once, and only when there
# is something to install. Extra package names may be given as arguments.
set -euo pipefail
want=(gcc make pkg-config liburing-dev libck-dev libxxhash-dev libjemalloc-dev
      libsodium-dev libcmocka-dev libpq-dev libhiredis-dev "$@")
missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
