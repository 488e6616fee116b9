#!/bin/sh
# Install Debian packages only if missing (apt-get update once, only when something is missing).
# Used by `make test` / `make demo` so that a fresh Debian 12 needs nothing but python3.
#
# On a new VM unattended-upgrades holds the dpkg lock for minutes after boot; apt-get would fail at once
# ("Could not get lock /var/lib/dpkg/lock-frontend"). DPkg::Lock::Timeout makes both apt-get calls wait
# for the lock instead (APT_LOCK_TIMEOUT seconds, 10 minutes by default).
set -eu
missing=""
for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
LOCK="-o DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT:-600}"
echo "installing Debian packages:$missing" >&2
$SUDO apt-get $LOCK update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get $LOCK install -y -qq --no-install-recommends $missing >/dev/null
