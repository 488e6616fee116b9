#!/usr/bin/env bash
# rt-up.sh - bring up a throwaway Request Tracker 5 on loopback for integration tests.
# Adapted from /work/shared/reference/rt-up.sh: a free port by default (tests run in
# parallel and 8080 may be taken), the port remembered in the state directory so a
# restart after rt-down.sh comes back on the same URL, and a check that the state
# directory is reachable by the server's user (pytest's tmp_path is not).
#
# Debian 12 (bookworm) packages request-tracker5 + rt5-db-sqlite, served by RT's
# own PSGI server (rt-server --server Standalone), using a SQLite database and
# config kept in a state directory. /etc/request-tracker5 is not read.
# Idempotent: installs only if missing, initialises the DB only if missing
# (or RT_RESET=1), and starts the server only if it isn't already running.
#
# Output: stdout gets one line, the base URL (REST2 is at <base>/REST/2.0/).
# Progress goes to stderr. Files in $RT_STATE_DIR:
#   token   an RT auth token for root ("Authorization: token <token>")
#   env     RT_URL / RT_REST / RT_USER / RT_PASSWORD / RT_TOKEN, for sourcing
#   rt-server.log, rt-server.pid, rtdb (SQLite), RT_SiteConfig.pm
#
# Environment:
#   RT_HOST (127.0.0.1)  RT_STATE_DIR (${TMPDIR:-/tmp}/rt-state)
#   RT_PORT              a port; unset or "auto": the one used last time in this
#                        state directory, else a free one picked now
#   RT_RESET=1           throw away the database and start from a fresh one
#   RT_START_TIMEOUT     seconds to wait for the server to answer (60)
# Needs root: apt-get, and RT's Mason cache (/var/cache/request-tracker5) belongs
# to www-data, so the server runs as www-data (dropped with setpriv).
set -euo pipefail

RT_HOST=${RT_HOST:-127.0.0.1}
RT_STATE_DIR=${RT_STATE_DIR:-${TMPDIR:-/tmp}/rt-state}
RT_PORT=${RT_PORT:-auto}
if [ "$RT_PORT" = auto ]; then
    if [ -s "$RT_STATE_DIR/port" ]; then
        RT_PORT=$(cat "$RT_STATE_DIR/port")
    else
        # Bind port 0 and let the kernel choose; the tiny race until rt-server binds
        # it is caught below ("taken by another process").
        RT_PORT=$(python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$RT_HOST")
    fi
fi
RT_RESET=${RT_RESET:-0}
RT_START_TIMEOUT=${RT_START_TIMEOUT:-60}
RT_RUN_USER=www-data
BASE="http://$RT_HOST:$RT_PORT"
RT_SERVER=/usr/share/request-tracker5/libexec/rt-server

T0=$(date +%s)
log() { printf '[rt-up +%ss] %s\n' "$(($(date +%s) - T0))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (apt-get; the RT server is started as $RT_RUN_USER)"
mkdir -p "$RT_STATE_DIR"
RT_STATE_DIR=$(cd "$RT_STATE_DIR" && pwd)
DB="$RT_STATE_DIR/rtdb"
PIDFILE="$RT_STATE_DIR/rt-server.pid"
echo "$RT_PORT" >"$RT_STATE_DIR/port"

# ---- 1. packages ------------------------------------------------------------
need_install=0
for p in request-tracker5 rt5-db-sqlite; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_install=1
done
if [ "$need_install" = 1 ]; then
    log "installing request-tracker5 + rt5-db-sqlite (no recommends)"
    if ! apt-cache policy request-tracker5 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        apt-get -o DPkg::Lock::Timeout="${APT_LOCK_TIMEOUT:-600}" update -qq
    fi
    # Answers for the package's own (unused here) dbconfig database, so that
    # the install never prompts.
    debconf-set-selections <<'EOF'
request-tracker5 request-tracker5/rtname string rt.test.local
request-tracker5 request-tracker5/organization string test.local
request-tracker5 request-tracker5/correspondaddress string rt@localhost
request-tracker5 request-tracker5/commentaddress string rt-comment@localhost
request-tracker5 request-tracker5/webbaseurl string http://127.0.0.1:8080
request-tracker5 request-tracker5/initial-root-password password password
request-tracker5 request-tracker5/install-cronjobs boolean false
request-tracker5 request-tracker5/dbconfig-install boolean true
request-tracker5 request-tracker5/database-type select sqlite3
EOF
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="${APT_LOCK_TIMEOUT:-600}" \
        install -y -qq --no-install-recommends \
        request-tracker5 rt5-db-sqlite >"$RT_STATE_DIR/rt-apt.log" 2>&1 \
        || die "apt-get install failed, see $RT_STATE_DIR/rt-apt.log"
    log "installed"
else
    log "packages already installed"
fi
command -v setpriv >/dev/null || die "setpriv (util-linux) is missing"
command -v curl >/dev/null || die "curl is missing (apt-get install curl)"
# Every parent directory must be searchable by the server's user, or RT dies
# with a confusing "unable to open database file" later.
setpriv --reuid="$RT_RUN_USER" --regid="$RT_RUN_USER" --clear-groups test -x "$(dirname "$RT_STATE_DIR")" \
    || die "$RT_RUN_USER cannot reach $RT_STATE_DIR (a parent directory is not searchable); use a directory under /tmp"
[ -x "$RT_SERVER" ] || die "$RT_SERVER not found"

# ---- 2. config (own site config; /etc/request-tracker5 is bypassed) --------
mkdir -p "$RT_STATE_DIR/RT_SiteConfig.d"
cat >"$RT_STATE_DIR/RT_SiteConfig.pm" <<EOF
# Written by rt-up.sh; test instance only.
Set(\$rtname, 'rt.test.local');
Set(\$Organization, 'test.local');
Set(\$WebDomain, '$RT_HOST');
Set(\$WebPort, $RT_PORT);
Set(\$WebPath, '');
Set(\$WebBaseURL, '$BASE');
Set(\$WebURL, '$BASE/');
Set(\$DatabaseType, 'SQLite');
Set(\$DatabaseName, '$DB');
Set(\$CorrespondAddress, 'rt@localhost');
Set(\$CommentAddress, 'rt-comment@localhost');
# No outgoing mail: 'testfile' writes to temporary files only.
Set(\$MailCommand, 'testfile');
Set(\$LogToSyslog, undef);
Set(\$LogToFile, undef);
Set(\$LogToSTDERR, 'warning');
1;
EOF
export RT_SITE_CONFIG="$RT_STATE_DIR/RT_SiteConfig.pm"
export RT_SITE_CONFIG_DIR="$RT_STATE_DIR/RT_SiteConfig.d"

# Fixture: a queue for the collector and a ticket custom field holding the
# dedup key, so tests can find "the open ticket for this problem".
cat >"$RT_STATE_DIR/initialdata.pl" <<'EOF'
@Queues = (
    { Name => 'Monitoring', Description => 'Tickets opened by the fleet collector',
      CorrespondAddress => '', CommentAddress => '' },
);
@CustomFields = (
    { Name => 'DedupKey', Type => 'FreeformSingle', LookupType => 'RT::Queue-RT::Ticket',
      Description => 'Collector dedup key', Queue => [ 'General', 'Monitoring' ] },
);
EOF

is_running() {
    [ -f "$PIDFILE" ] || return 1
    local pid; pid=$(cat "$PIDFILE")
    kill -0 "$pid" 2>/dev/null && grep -q rt-server "/proc/$pid/cmdline" 2>/dev/null
}

if [ "$RT_RESET" = 1 ]; then
    is_running && die "RT_RESET=1 while the server runs; call rt-down.sh first"
    log "RT_RESET=1: removing $DB"
    rm -f "$DB" "$RT_STATE_DIR/token" "$RT_STATE_DIR/env"
fi

# ---- 3. database -------------------------------------------------------------
if [ ! -s "$DB" ]; then
    log "initialising SQLite database $DB"
    rm -f "$RT_STATE_DIR/token" "$RT_STATE_DIR/env"
    rt-setup-database-5 --action init >"$RT_STATE_DIR/rt-setup.log" 2>&1 \
        || die "rt-setup-database-5 --action init failed, see $RT_STATE_DIR/rt-setup.log"
    rt-setup-database-5 --action insert --skip-create --datafile "$RT_STATE_DIR/initialdata.pl" \
        >>"$RT_STATE_DIR/rt-setup.log" 2>&1 \
        || die "fixture insert failed, see $RT_STATE_DIR/rt-setup.log"
    log "database ready (root / password; queue Monitoring; ticket CF DedupKey)"
fi

if [ ! -s "$RT_STATE_DIR/token" ]; then
    # Auth token for root, for "Authorization: token ..." (REST2 also takes basic auth).
    perl -I/usr/share/request-tracker5/lib -e '
        use RT; RT::LoadConfig(); RT::Init();
        my $u = RT::User->new(RT->SystemUser); $u->Load("root") or die "no root user\n";
        my $t = RT::AuthToken->new(RT::CurrentUser->new($u));
        my ($id, $msg, $auth) = $t->Create(Owner => $u->Id, Description => "rt-up.sh");
        $id or die "token: $msg\n"; print "$auth\n";' \
        2>>"$RT_STATE_DIR/rt-setup.log" >"$RT_STATE_DIR/token.tmp" \
        || die "token creation failed, see $RT_STATE_DIR/rt-setup.log"
    mv "$RT_STATE_DIR/token.tmp" "$RT_STATE_DIR/token"
fi
TOKEN=$(cat "$RT_STATE_DIR/token")
cat >"$RT_STATE_DIR/env" <<EOF
RT_URL=$BASE
RT_REST=$BASE/REST/2.0
RT_USER=root
RT_PASSWORD=password
RT_TOKEN=$TOKEN
RT_PORT=$RT_PORT
EOF

# The server runs as www-data: it needs the DB (and its directory, for SQLite's
# journal), the config and the Mason cache.
chown -R "$RT_RUN_USER:" "$RT_STATE_DIR"
chmod 700 "$RT_STATE_DIR"
chown -R "$RT_RUN_USER:" /var/cache/request-tracker5

# ---- 4. server -----------------------------------------------------------------
ready() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' -m 5 -u root:password "$BASE/REST/2.0/rt")" = 200 ]
}

if is_running; then
    log "rt-server already running (pid $(cat "$PIDFILE"))"
else
    if ready || (exec 3<>"/dev/tcp/$RT_HOST/$RT_PORT") 2>/dev/null; then
        die "$RT_HOST:$RT_PORT is taken by another process; set RT_PORT"
    fi
    log "starting rt-server on $BASE"
    setsid setpriv --reuid="$RT_RUN_USER" --regid="$RT_RUN_USER" --init-groups \
        env HOME="$RT_STATE_DIR" RT_SITE_CONFIG="$RT_SITE_CONFIG" RT_SITE_CONFIG_DIR="$RT_SITE_CONFIG_DIR" \
        "$RT_SERVER" --server Standalone --host "$RT_HOST" --port "$RT_PORT" \
        >>"$RT_STATE_DIR/rt-server.log" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
fi

deadline=$(($(date +%s) + RT_START_TIMEOUT))
until ready; do
    is_running || die "rt-server exited; see $RT_STATE_DIR/rt-server.log"
    [ "$(date +%s)" -lt "$deadline" ] || die "no answer from $BASE within ${RT_START_TIMEOUT}s"
    sleep 0.3
done
log "ready: REST2 at $BASE/REST/2.0 (basic auth root:password, or token from $RT_STATE_DIR/token)"
echo "$BASE"
