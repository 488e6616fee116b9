"""The collector's schema as numbered migrations, applied in order once each.

Each step is plain SQL that PostgreSQL also accepts (no AUTOINCREMENT, no SQLite-only types; ``INTEGER
PRIMARY KEY`` becomes an identity column there). A new step is appended, never edited: a database
records the highest step it has run in ``schema_version``.
"""

from __future__ import annotations


def _rekey(old: str, new: str, subject: str) -> tuple[str, ...]:
    """SQL that gives the open problems of code ``old`` the code ``new`` and the subject ``subject`` (an
    SQL expression over the problem's columns, written with ``{p}.`` for its table), and their open
    tickets the matching dedup key, so that they stay open under their new identity instead of being
    resolved and opened again. A problem whose new identity is taken already (an open problem has it,
    or another of the same device that comes first) is the same fault twice: it is resolved, and the
    periodic ticket pass resolves its ticket. A ticket whose new dedup key an open ticket has already
    keeps its key and is resolved by that pass too."""
    key = "{p}.school || '/' || {p}.device || '/" + new + "/' || " + subject

    def of(alias: str, expression: str) -> str:
        return expression.replace("{p}", alias)

    return (
        f"""UPDATE problems SET state = 'resolved', resolved_at = COALESCE(seen_at, opened_at)
            WHERE code = '{old}' AND state = 'open' AND EXISTS (
                SELECT 1 FROM problems o WHERE o.state = 'open' AND o.school = problems.school
                AND o.device = problems.device AND (
                    (o.code = '{new}' AND o.id <> problems.id AND o.subject = {of("problems", subject)})
                    OR (o.code = '{old}' AND o.id < problems.id
                        AND {of("o", subject)} = {of("problems", subject)})))""",
        f"""UPDATE tickets SET problem_code = '{new}', dedup_key = (
                SELECT {of("p", key)} FROM problems p
                WHERE p.code = '{old}' AND p.state = 'open' AND p.ticket_ref = CAST(tickets.id AS TEXT))
            WHERE state = 'open' AND EXISTS (
                SELECT 1 FROM problems p
                WHERE p.code = '{old}' AND p.state = 'open' AND p.ticket_ref = CAST(tickets.id AS TEXT)
                AND NOT EXISTS (
                    SELECT 1 FROM tickets t WHERE t.state = 'open' AND t.dedup_key = {of("p", key)}))""",
        f"""UPDATE problems SET code = '{new}', subject = {of("problems", subject)}
            WHERE code = '{old}' AND state = 'open'""",
    )


MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE schools (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            campus_manager TEXT
        )""",
        """CREATE TABLE tokens (
            token_hash TEXT PRIMARY KEY,
            school TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE agents (
            agent_id TEXT PRIMARY KEY,
            school TEXT NOT NULL,
            first_seen DOUBLE PRECISION NOT NULL,
            last_seen DOUBLE PRECISION NOT NULL,
            last_heartbeat DOUBLE PRECISION
        )""",
        """CREATE TABLE devices (
            school TEXT NOT NULL,
            device TEXT NOT NULL,
            kind TEXT NOT NULL,
            label TEXT,
            address TEXT NOT NULL,
            status TEXT NOT NULL,
            last_polled DOUBLE PRECISION NOT NULL,
            last_seen DOUBLE PRECISION,
            consecutive_failures INTEGER NOT NULL,
            PRIMARY KEY (school, device)
        )""",
        """CREATE TABLE readings (
            school TEXT NOT NULL,
            device TEXT NOT NULL,
            polled_at DOUBLE PRECISION NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (school, device)
        )""",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            agent_id TEXT NOT NULL,
            seq BIGINT NOT NULL,
            school TEXT NOT NULL,
            device TEXT,
            type TEXT NOT NULL,
            at DOUBLE PRECISION NOT NULL,
            received_at DOUBLE PRECISION NOT NULL,
            body TEXT NOT NULL,
            UNIQUE (agent_id, seq)
        )""",
        "CREATE INDEX events_school_at ON events (school, at)",
        """CREATE TABLE problems (
            id INTEGER PRIMARY KEY,
            school TEXT NOT NULL,
            device TEXT NOT NULL,
            code TEXT NOT NULL,
            subject TEXT NOT NULL,
            state TEXT NOT NULL,
            severity TEXT NOT NULL,
            summary TEXT NOT NULL,
            opened_at DOUBLE PRECISION NOT NULL,
            resolved_at DOUBLE PRECISION,
            ticket_ref TEXT
        )""",
        # At most one open problem per identity; resolved ones stay as history.
        """CREATE UNIQUE INDEX problems_open_identity ON problems (school, device, code, subject)
            WHERE state = 'open'""",
        """CREATE TABLE tickets (
            id INTEGER PRIMARY KEY,
            dedup_key TEXT NOT NULL,
            school TEXT NOT NULL,
            device TEXT,
            problem_code TEXT NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            priority TEXT NOT NULL,
            assignee TEXT,
            state TEXT NOT NULL,
            opened_at DOUBLE PRECISION NOT NULL,
            resolved_at DOUBLE PRECISION
        )""",
        "CREATE UNIQUE INDEX tickets_open_dedup ON tickets (dedup_key) WHERE state = 'open'",
        """CREATE TABLE ticket_notes (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL REFERENCES tickets (id),
            at DOUBLE PRECISION NOT NULL,
            kind TEXT NOT NULL,
            text TEXT NOT NULL
        )""",
    ),
    (
        # The ticket lifecycle looks up the last resolved problem of an identity to reopen its ticket.
        "CREATE INDEX problems_identity ON problems (school, device, code, subject, resolved_at)",
    ),
    (
        # Root cause: the parent a device's agent config names, and the devices a root problem explains
        # (a JSON list), so its ticket can list them.
        "ALTER TABLE devices ADD COLUMN parent TEXT",
        "ALTER TABLE problems ADD COLUMN affected TEXT NOT NULL DEFAULT '[]'",
        # Silences and maintenance windows hold tickets back (campuswatch.collector.tickets.decision).
        """CREATE TABLE silences (
            id INTEGER PRIMARY KEY,
            school TEXT NOT NULL,
            device TEXT NOT NULL,
            code TEXT NOT NULL,
            starts_at DOUBLE PRECISION NOT NULL,
            ends_at DOUBLE PRECISION NOT NULL,
            comment TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX silences_school_end ON silences (school, ends_at)",
    ),
    (
        # Each printer supply's remaining percent at the end of each day it was read (day: a date
        # ordinal), so that supply forecasts survive a restart of the collector.
        """CREATE TABLE supply_levels (
            school TEXT NOT NULL,
            device TEXT NOT NULL,
            supply INTEGER NOT NULL,
            day INTEGER NOT NULL,
            remaining DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (school, device, supply, day)
        )""",
    ),
    (
        # Hysteresis (a rule's clear_for): when an open problem was last seen, so that it resolves only
        # after being gone long enough.
        "ALTER TABLE problems ADD COLUMN seen_at DOUBLE PRECISION",
    ),
    (
        # What the agents' discovery found: the latest report of each device per school, matched by MAC,
        # else by address; body is the DiscoveredDevice as the agent sent it.
        """CREATE TABLE discovered (
            id INTEGER PRIMARY KEY,
            school TEXT NOT NULL,
            address TEXT NOT NULL,
            mac TEXT,
            agent_id TEXT NOT NULL,
            first_reported DOUBLE PRECISION NOT NULL,
            last_reported DOUBLE PRECISION NOT NULL,
            body TEXT NOT NULL
        )""",
        "CREATE INDEX discovered_school_address ON discovered (school, address)",
        "CREATE INDEX discovered_school_mac ON discovered (school, mac)",
    ),
    (
        # Each projector lamp's hour counter at the end of each day it was read (day: a date ordinal;
        # lamp: its number on the projector, from 1), so that lamp forecasts survive a restart.
        """CREATE TABLE lamp_hours (
            school TEXT NOT NULL,
            device TEXT NOT NULL,
            lamp INTEGER NOT NULL,
            day INTEGER NOT NULL,
            hours INTEGER NOT NULL,
            PRIMARY KEY (school, device, lamp, day)
        )""",
    ),
    (
        # Tokens of machines, not only of agents: each has an id (to list and revoke it without its
        # secret), a scope, a name, and when it was last used. An agent token keeps its school; the
        # tokens made before are agent tokens named after their school.
        """CREATE TABLE service_tokens (
            id INTEGER PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            scope TEXT NOT NULL,
            school TEXT,
            name TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            last_used_at DOUBLE PRECISION
        )""",
        """INSERT INTO service_tokens (token_hash, scope, school, name, created_at)
            SELECT token_hash, 'agent', school, school, created_at FROM tokens ORDER BY created_at""",
        "DROP TABLE tokens",
        "ALTER TABLE service_tokens RENAME TO tokens",
        # People's accounts (campuswatch.collector.auth): a password hash (argon2) unless they sign in
        # through the single sign-on proxy only; generation voids the sessions of an older version.
        """CREATE TABLE users (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            campus_manager TEXT,
            school TEXT,
            password_hash TEXT,
            generation INTEGER NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            changed_at DOUBLE PRECISION NOT NULL
        )""",
        # Keys the collector makes once and keeps (the one that signs session cookies).
        """CREATE TABLE secrets (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
        # Who did what when: silences, acknowledgements, logins, token and user changes.
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at DOUBLE PRECISION NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            school TEXT,
            target TEXT,
            detail TEXT NOT NULL,
            peer TEXT
        )""",
    ),
    (
        # One owner of fault policy, one code per fault: the collector judges every threshold, so the
        # codes that named one fault twice become one. A lamp at its rated life was `lamp_hours` (the
        # collector's rule, subject the lamp's position from 0) and `lamp_end_of_life` (the agent's,
        # subject lamp1): now lamp_end_of_life, lamp1. The gateway's `disk_full` (subject the agent's
        # data directory) is `storage_full`, as a host's full disk always was, of the gateway's data disk
        # (no subject); `uplink_saturated` has no subject (a gateway has one uplink).
        *_rekey("lamp_hours", "lamp_end_of_life", "'lamp' || CAST(CAST({p}.subject AS INTEGER) + 1 AS TEXT)"),
        *_rekey("disk_full", "storage_full", "''"),
        *_rekey("uplink_saturated", "uplink_saturated", "''"),
    ),
    (
        # Root cause in time: each device's latest outage and its switch ports' (a JSON list of
        # {after, until, port}), so that a failure made while its switch was down stays explained
        # after the switch is back (campuswatch.collector.alerting.outages).
        "ALTER TABLE devices ADD COLUMN outages TEXT NOT NULL DEFAULT '[]'",
    ),
    (
        # A teacher's report about a problem whose ticket the rules still hold: kept with the problem
        # until its ticket opens and carries it.
        """CREATE TABLE problem_reports (
            id INTEGER PRIMARY KEY,
            problem_id BIGINT NOT NULL,
            at DOUBLE PRECISION NOT NULL,
            room TEXT NOT NULL,
            complaint TEXT NOT NULL,
            note TEXT NOT NULL
        )""",
        "CREATE INDEX problem_reports_problem ON problem_reports (problem_id)",
    ),
    (
        # Ingest keeps in its event log only what changed; a poll that changed nothing is folded into the
        # device's row. So an agent's acknowledged seq is kept with the agent (it was the log's highest).
        # With it, how many events the agent delivered (each once): the log no longer counts them.
        "ALTER TABLE agents ADD COLUMN acked_seq BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE agents ADD COLUMN events_received BIGINT NOT NULL DEFAULT 0",
        """UPDATE agents SET
            acked_seq = (SELECT COALESCE(MAX(e.seq), 0) FROM events e WHERE e.agent_id = agents.agent_id),
            events_received = (SELECT COUNT(*) FROM events e WHERE e.agent_id = agents.agent_id)""",
        # The reading's state (a hash that leaves out the measurements), the full poll it came from (what
        # "unchanged since seq N" refers to), the latest poll's measurements (a JSON list; NULL while the
        # reading is the latest poll's own), and a version each write raises (two collectors on one
        # database must not overwrite each other's update unseen).
        "ALTER TABLE devices ADD COLUMN signature TEXT",
        "ALTER TABLE devices ADD COLUMN reading_agent TEXT",
        "ALTER TABLE devices ADD COLUMN reading_seq BIGINT",
        "ALTER TABLE devices ADD COLUMN measured TEXT",
        "ALTER TABLE devices ADD COLUMN version BIGINT NOT NULL DEFAULT 0",
        # Pruning by age a chunk at a time reads the oldest first.
        "CREATE INDEX events_received ON events (received_at)",
    ),
    (
        # The API reads its lists a page at a time in the order it lists them (store/sql/txn.py's
        # `listed`): each page is an index range from the cursor on, not a sort of every row. Tickets
        # newest first, all of them, by state or by school; open problems by identity and id (SQLite's
        # unique index on the open identity holds the id already, PostgreSQL's does not).
        "CREATE INDEX tickets_opened ON tickets (opened_at, id)",
        "CREATE INDEX tickets_state_opened ON tickets (state, opened_at, id)",
        "CREATE INDEX tickets_school_opened ON tickets (school, opened_at, id)",
        "CREATE INDEX problems_open_order ON problems (school, device, code, subject, id) WHERE state = 'open'",
        # What discovery found, by school, address and MAC (none as ''): the API's cursor names all three.
        "CREATE INDEX discovered_order ON discovered (school, address, (COALESCE(mac, '')))",
    ),
)

#: The schema version a fully migrated database has.
SCHEMA_VERSION = len(MIGRATIONS)
