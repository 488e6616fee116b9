#!/bin/bash
# A real IPP Everywhere printer (CUPS's ippeveprinter) on localhost inside a private network and mount
# namespace: loopback only, so its DNS-SD traffic never leaves the sandbox. ippeveprinter refuses to
# start without DNS-SD, so a private D-Bus and avahi-daemon run here too (on a private /run).
# Needs: apt-get install cups-ipp-utils avahi-daemon dbus   (scripts/apt-test-packages.txt)
#
# Usage (as root):  unshare --net --mount scripts/ippeveprinter-ns.sh COMMAND [ARG...]
#   COMMAND runs inside the namespace while the printer is up; its exit status is the script's.
# Environment:
#   IPP_PORT   port of the printer (default 18631); the URL is ipp://localhost:$IPP_PORT/ipp/print
#   IPP_ATTRS  optional ippeveprinter attributes file (-a): e.g. marker-* supplies of a printer model
#   IPP_NAME   service name (default "Test Printer")
# Without IPP_ATTRS the printer reports printer-state, printer-state-reasons and two printer-supply
# entries (black toner 75 %, waste tank 25 %). Its web forms change them while it runs:
#   GET http://localhost:$IPP_PORT/supplies?supply0=100&supply1=0   (waste full, toner empty)
set -u
port=${IPP_PORT:-18631}
name=${IPP_NAME:-Test Printer}
ip link set lo up
mount -t tmpfs tmpfs /run                 # private /run: this D-Bus and avahi do not touch the host's
mkdir -p /run/dbus /run/avahi-daemon
dbus_pid=$(dbus-daemon --system --fork --nopidfile --print-pid)
work=$(mktemp -d)
printf '[server]\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=lo\nenable-dbus=yes\n[publish]\npublish-workstation=no\n' \
  >"$work/avahi.conf"
avahi-daemon --daemonize --no-drop-root --no-chroot -f "$work/avahi.conf"
# ippeveprinter registers with avahi at start; wait until the daemon's socket exists.
for _ in $(seq 50); do [ -S /run/avahi-daemon/socket ] && break; sleep 0.1; done
mkdir "$work/spool"
# Readiness: the printer answers Get-Printer-Attributes (ipptool's own get-printer-attributes.test also
# validates the attributes, which an IPP_ATTRS file with extra attributes may not pass).
cat >"$work/ready.test" <<'TEST'
{
  OPERATION Get-Printer-Attributes
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  STATUS successful-ok
}
TEST
attrs=()
[ -n "${IPP_ATTRS:-}" ] && attrs=(-a "$IPP_ATTRS")
ippeveprinter "${attrs[@]}" -n localhost -p "$port" -d "$work/spool" "$name" >"$work/ippeveprinter.log" 2>&1 &
printer=$!
up=no
for _ in $(seq 40); do
  ipptool -q "ipp://localhost:$port/ipp/print" "$work/ready.test" 2>/dev/null && { up=yes; break; }
  sleep 0.25
done
if [ $up = yes ]; then
  "$@"; rc=$?
else
  echo "ippeveprinter did not come up on port $port:" >&2; tail -n 20 "$work/ippeveprinter.log" >&2; rc=125
fi
kill $printer 2>/dev/null; wait $printer 2>/dev/null
avahi-daemon -k 2>/dev/null; kill "$dbus_pid" 2>/dev/null
rm -rf "$work"
exit $rc
