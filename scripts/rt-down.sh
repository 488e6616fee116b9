#!/usr/bin/env bash
# rt-down.sh - stop the test RT that scripts/rt-up.sh started (by the PID it recorded).
# The database stays, so rt-up.sh brings the same instance back in 1-2 s.
# RT_PURGE=1 also deletes the state directory (database, token, logs).
set -euo pipefail
RT_STATE_DIR=${RT_STATE_DIR:-${TMPDIR:-/tmp}/rt-state}
PIDFILE="$RT_STATE_DIR/rt-server.pid"

if [ -f "$PIDFILE" ]; then
    pid=$(cat "$PIDFILE")
    if kill -0 "$pid" 2>/dev/null && grep -q rt-server "/proc/$pid/cmdline" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "rt-down: pid $pid ignored SIGTERM for 10s, sending SIGKILL" >&2
            kill -KILL "$pid"
        fi
        echo "rt-down: stopped rt-server (pid $pid)" >&2
    else
        echo "rt-down: pid $pid is not a running rt-server; nothing to stop" >&2
    fi
    rm -f "$PIDFILE"
else
    echo "rt-down: no pid file at $PIDFILE; nothing to stop" >&2
fi

if [ "${RT_PURGE:-0}" = 1 ]; then
    rm -rf "$RT_STATE_DIR"
    echo "rt-down: removed $RT_STATE_DIR" >&2
fi
