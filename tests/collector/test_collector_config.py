"""collector.yaml and schools.yaml: the examples load, defaults work without a file, errors name the line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from campuswatch.collector.alerting.rules import Calendars, load_rules
from campuswatch.collector.config import CollectorConfig, load_collector_config, load_schools, parse_listen
from campuswatch.collector.model import CampusManager
from campuswatch.collector.store.location import PostgresLocation, SqliteLocation
from campuswatch.config import ConfigError
from tests.support.paths import CONFIGS


def test_example_configs_load_and_name_real_schools() -> None:
    config = load_collector_config(CONFIGS / "collector.yaml")
    assert config.listen_host_port() == ("127.0.0.1", 8750)
    assert config.schools_file == CONFIGS / "schools.yaml"
    schools = {s.id: s for s in load_schools(config.schools_file).as_schools()}
    assert schools["bert-brecht-gymnasium"].name == "Bert-Brecht-Gymnasium"


def test_defaults_put_the_database_under_the_xdg_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert CollectorConfig().database() == SqliteLocation(tmp_path / "campuswatch" / "collector.sqlite3")
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert CollectorConfig().database() == SqliteLocation(
        tmp_path / ".local/share/campuswatch/collector.sqlite3"
    )


@pytest.mark.parametrize(
    ("db", "expected"),
    [
        ("sqlite:///data/c.sqlite3", "data/c.sqlite3"),
        ("sqlite:////srv/c.sqlite3", "/srv/c.sqlite3"),
        ("/srv/c.sqlite3", "/srv/c.sqlite3"),
    ],
)
def test_db_is_a_path_or_a_sqlite_url(tmp_path: Path, db: str, expected: str) -> None:
    path = tmp_path / "collector.yaml"
    path.write_text(f"db: {db}\n")
    assert load_collector_config(path).database() == SqliteLocation(tmp_path.resolve() / expected)


def test_a_postgresql_url_selects_postgresql_and_never_shows_its_password(tmp_path: Path) -> None:
    path = tmp_path / "collector.yaml"
    path.write_text("db: postgresql://cw:S3cr%40t@db.example:5432/campuswatch?sslmode=verify-full\n")
    config = load_collector_config(path)
    database = config.database()
    assert isinstance(database, PostgresLocation)
    assert database.shown == "postgresql://cw:***@db.example:5432/campuswatch?sslmode=verify-full"
    assert "S3cr" not in repr(database) and "S3cr" not in str(database) and "S3cr" not in repr(config)
    assert database.url.reveal().startswith("postgresql://cw:S3cr%40t@")


@pytest.mark.parametrize(
    ("db", "message"),
    [
        ("mysql://u:hunter2@h/db", "db: unknown scheme 'mysql'"),
        ("sqlite://c.sqlite3", "db: a SQLite URL is sqlite:///"),
    ],
)
def test_a_db_that_names_no_store_is_a_config_error_without_its_password(
    tmp_path: Path, db: str, message: str
) -> None:
    path = tmp_path / "collector.yaml"
    path.write_text(f"listen: 127.0.0.1:8750\ndb: {db}\n")
    with pytest.raises(ConfigError) as err:
        load_collector_config(path)
    assert f"collector.yaml:2: {message}" in str(err.value)
    assert "hunter2" not in str(err.value)


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "collector.yaml"
    path.write_text("db: data/c.sqlite3\ntls:\n  cert: c.pem\n  key: k.pem\n")
    config = load_collector_config(path)
    assert config.database() == SqliteLocation(tmp_path.resolve() / "data/c.sqlite3")
    assert config.tls is not None and config.tls.cert == tmp_path.resolve() / "c.pem"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("listen: 127.0.0.1:8750\nmax_body_byts: 5\n", ":2: max_body_byts: unknown key"),
        ("heartbeat_s: 60\nlisten: nowhere\n", ":2: listen: expected HOST:PORT"),
        ("unreachable_after_polls: 0\n", ":1: unreachable_after_polls: must be at least 1"),
        ("heartbeat_s: soon\n", ":1: heartbeat_s: Expected `float`"),
        ("listen: 127.0.0.1:8750\npublic_url: http://cw.example\n", ":2: public_url: must be https://"),
        ("public_url: https://admin:pw@cw.example\n", ":1: public_url: must be https://"),
        ("public_url: https://cw.example/?next=x\n", ":1: public_url: must be https://"),
        (
            "language: de\nticket_sinks:\n  - {type: webhook, name: w, url: 'https://w.example', secret: s, language: nl}\n",
            ":3: ticket_sinks[0].language: must be one of: de, en",
        ),
    ],
)
def test_bad_collector_config_names_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "collector.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_collector_config(path)
    assert str(err.value).startswith(str(path))
    assert expected in str(err.value)


def test_school_without_name_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "schools.yaml"
    path.write_text("schools:\n  bbg:\n    name: Bert-Brecht-Gymnasium\n  hhg:\n    campus_manager: x\n")
    with pytest.raises(ConfigError, match=r"schools.yaml:4: schools.hhg.name: must not be empty"):
        load_schools(path)


@pytest.mark.parametrize(
    ("rooms", "expected"),
    [
        ('"a/b": [d1]', "schools.bbg.rooms.a/b: a room name is 1 to 64 printable characters without '/'"),
        ('"101": []', "schools.bbg.rooms.101: name the ids of the devices in the room"),
        (f'"{"x" * 65}": [d1]', "a room name is 1 to 64 printable characters"),
    ],
)
def test_a_schools_rooms_are_checked_where_they_are_written(
    tmp_path: Path, rooms: str, expected: str
) -> None:
    path = tmp_path / "schools.yaml"
    path.write_text(f"schools:\n  bbg:\n    name: BBG\n    rooms:\n      {rooms}\n")
    with pytest.raises(ConfigError) as err:
        load_schools(path)
    assert str(err.value).startswith(f"{path}:") and expected in str(err.value)


def test_a_schools_rooms_name_their_devices(tmp_path: Path) -> None:
    path = tmp_path / "schools.yaml"
    path.write_text('schools:\n  bbg:\n    name: BBG\n    rooms:\n      "101": [display-101, pr-101]\n')
    assert load_schools(path).rooms() == {"bbg": {"101": ["display-101", "pr-101"]}}


def test_schools_name_their_campus_manager_by_id_and_the_older_text_form_still_reads(tmp_path: Path) -> None:
    example = load_schools(CONFIGS / "schools.yaml")
    managers = example.managers()
    schools = {s.id: s for s in example.as_schools()}
    assert schools["bert-brecht-gymnasium"].campus_manager == "cm-nord"
    assert managers["cm-nord"] == CampusManager(
        "cm-nord",
        "Anna Schmidt",
        email="anna.schmidt@schulen.stadt-dortmund.example",
        phone="+49 231 50-11111",
        login="aschmidt",
        away=frozenset({date(2026, 12, 22), *(date(2027, 2, d) for d in range(15, 20))}),
    )
    assert managers["cm-nord"].assignee == "aschmidt"
    assert managers["cm-ost"].assignee == "ben.yilmaz@schulen.stadt-dortmund.example"
    older = tmp_path / "schools.yaml"
    older.write_text(
        "schools:\n  bbg:\n    name: BBG\n    campus_manager: it-bbg@example.org\n"
        "  hhg:\n    name: HHG\n    campus_manager: anna\n"
    )
    managers = load_schools(older).managers()
    assert managers["it-bbg@example.org"].assignee == "it-bbg@example.org"
    assert managers["it-bbg@example.org"].email == "it-bbg@example.org"
    assert managers["anna"].login == "anna"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "campus_managers:\n  cm-nord:\n    name: Anna\nschools:\n  bbg:\n    name: BBG\n"
            "    campus_manager: cm-nrod\n",
            ":7: schools.bbg.campus_manager: no campus manager 'cm-nrod' in campus_managers (it has cm-nord)",
        ),
        (
            "campus_managers:\n  cm-nord:\n    login: anna\n",
            ":2: campus_managers.cm-nord.name: must not be empty",
        ),
        (
            "campus_managers:\n  a:\n    name: A\n    login: anna\n  b:\n    name: B\n    login: anna\n",
            ":7: campus_managers.b.login: 'anna' is already the login of 'a'",
        ),
        (
            "campus_managers:\n  a:\n    name: A\n    pager: 123\n",
            ":4: campus_managers.a.pager: unknown key",
        ),
    ],
)
def test_bad_campus_managers_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "schools.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_schools(path)
    assert expected in str(err.value)


def test_the_examples_commented_out_in_the_collector_config_load_as_written(tmp_path: Path) -> None:
    text = (CONFIGS / "collector.yaml").read_text(encoding="utf-8")
    block = text.split("  # proxy:\n", 1)[1].split("\n\n", 1)[0]
    proxy = "  proxy:\n" + "\n".join(line.replace("  #", "  ", 1) for line in block.splitlines())
    uncommented = text.replace("  # proxy:\n" + block, proxy).replace("# metrics_listen:", "metrics_listen:")
    path = tmp_path / "collector.yaml"
    path.write_text(
        uncommented.replace("schools_file: schools.yaml", f"schools_file: {CONFIGS / 'schools.yaml'}")
    )
    config = load_collector_config(path)
    assert config.auth.proxy is not None and config.auth.proxy.trusted == ["127.0.0.1"]
    assert config.auth.proxy.group_roles == {"campuswatch-admins": "admin", "it-helpdesk": "helpdesk"}
    assert config.metrics_listen == "127.0.0.1:9751"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("auth:\n  proxy:\n    trusted: []\n", ":3: auth.proxy.trusted: name the proxy's address"),
        (
            "auth:\n  proxy:\n    trusted: [10.0.0.300]\n",
            ":3: auth.proxy.trusted[0]: not an address or network",
        ),
        (
            "auth:\n  proxy:\n    trusted: [\"::1\"]\n    user_header: 'X User'\n",
            ":4: auth.proxy.user_header: not a header name",
        ),
        (
            'auth:\n  proxy:\n    trusted: ["::1"]\n    group_roles: {x: admin}\n',
            ":4: auth.proxy.group_roles: needs groups_header",
        ),
        (
            'auth:\n  proxy:\n    trusted: ["::1"]\n    groups_header: G\n    group_roles: {x: campus_manager}\n',
            ":5: auth.proxy.group_roles",
        ),
        ("auth:\n  session_hours: 0\n", ":2: auth.session_hours: must be more than 0"),
        (
            "listen: 127.0.0.1:8750\nmetrics_listen: 127.0.0.1:8750\n",
            ":2: metrics_listen: must differ from listen",
        ),
    ],
)
def test_bad_auth_settings_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "collector.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_collector_config(path)
    assert expected in str(err.value)


def test_parse_listen_accepts_ipv6_and_refuses_bad_ports() -> None:
    assert parse_listen("[::1]:9000") == ("::1", 9000)
    with pytest.raises(ValueError, match="port"):
        parse_listen("host:http")


TIMETABLE = (
    "campus_managers:\n  cm:\n    name: Anna\nschools:\n  bbg:\n    name: BBG\n    campus_manager: cm\n"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            TIMETABLE + "    visits: {weekdays: [tue], time: '11:00-08:00'}\n",
            ":8: schools.bbg.visits.time: ends before it starts",
        ),
        (
            TIMETABLE + "    visits: {weekdays: [dienstag]}\n",
            ":8: schools.bbg.visits.weekdays[0]: must be one of: fri, mon, sat, sun, thu, tue, wed",
        ),
        (
            TIMETABLE + "    visits: {weekdays: [tue], every_weeks: 2}\n",
            ":8: schools.bbg.visits.anchor: every_weeks > 1 needs anchor",
        ),
        (
            TIMETABLE + "    visits: {weekdays: [tue], every_weeks: 0}\n",
            ":8: schools.bbg.visits.every_weeks: must be 1 (every week) to 52",
        ),
        (TIMETABLE + "    visits: {time: '08:00-09:00'}\n", ":8: schools.bbg.visits: name weekdays or once"),
        (
            TIMETABLE + "    visits: {once: [2026-13-01]}\n",
            ":8: schools.bbg.visits.once[0]: not a date (YYYY-MM-DD)",
        ),
        (
            TIMETABLE + "    contacts:\n      - {name: Petra, role: ' '}\n",
            ":9: schools.bbg.contacts[0].role: must not be empty",
        ),
        (
            TIMETABLE + "    contacts:\n      - {name: Petra, role: Sekretariat, fax: 1}\n",
            ":9: schools.bbg.contacts[0].fax: unknown key (a typo?)",
        ),
        (
            "campus_managers:\n  cm:\n    name: Anna\n    away:\n      - {from: 2027-02-19, to: 2027-02-15}\n",
            ":5: campus_managers.cm.away[0].to: ends before it starts",
        ),
        (
            # Every day of an absence is expanded at start: 40 spans of 9999 years took a minute and 450 MB.
            "campus_managers:\n  cm:\n    name: Anna\n    away:\n      - {from: 0001-01-01, to: 9999-12-31}\n",
            ":5: campus_managers.cm.away[0].to: an absence is at most 366 days",
        ),
        (
            "schools:\n  bbg:\n    name: BBG\n    visits: {weekdays: [tue]}\n",
            ":4: schools.bbg.visits: a timetable needs the school's campus_manager",
        ),
    ],
)
def test_a_wrong_timetable_or_contact_is_refused_naming_line_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "schools.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_schools(path)
    assert expected in str(err.value)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("collector.yaml", "heartbeat_s: -5\n", ":1: heartbeat_s: must be at least 0.1"),
        ("collector.yaml", "heartbeat_s: .nan\n", ":1: heartbeat_s: must be at least 0.1"),
        ("collector.yaml", "events_retention_days: 0\n", ":1: events_retention_days: must be more than 0"),
        ("collector.yaml", "reopen_within_s: 1e400\n", ":1: reopen_within_s: Expected `float`, got `str`"),
        ("collector.yaml", "reopen_within_s: 99999999999\n", ":1: reopen_within_s: must be at most 31622400"),
        (
            "collector.yaml",
            "offline_after_missed: 99999999999999999999999\n",
            ":1: offline_after_missed: must be at most 1000",
        ),
        ("collector.yaml", "max_body_bytes: 10\n", ":1: max_body_bytes: must be at least 65536"),
        (
            "collector.yaml",
            "alertmanager_token: !secret s3cret-token\n",
            ":1: alertmanager_token: YAML tag !secret is not supported",
        ),
        (
            "collector.yaml",
            "ticket_sinks:\n  - type: email\n    name: m\n    host: h\n    sender: a@b.example\n"
            "    recipients: [x@y.example]\n    security: s3cret-password\n",
            ":7: ticket_sinks[0].security: must be one of: none, starttls, tls",
        ),
        (
            "collector.yaml",
            "ticket_sinks:\n  - type: email\n    name: m\n    host: h\n    port: 0\n    sender: a@b.example\n"
            "    recipients: [x@y.example]\n",
            ":5: ticket_sinks[0].port: must be at least 1",
        ),
        (
            "collector.yaml",
            'ticket_sinks:\n  - type: email\n    name: m\n    host: h\n    sender: "a@b.example\\r\\nBcc: c@d"\n'
            "    recipients: [x@y.example]\n",
            ":2: ticket_sinks[0]: sender and recipients must be plain e-mail addresses",
        ),
        (
            "collector.yaml",
            "ticket_sinks:\n  - type: webhook\n    name: w\n    url: https://h.example/\n    secret: k\n"
            "    timeout_seconds: 0\n",
            ":6: ticket_sinks[0].timeout_seconds: must be more than 0",
        ),
        # Both were tracebacks (NotImplementedError from the holiday library, ValueError from date()).
        (
            "rules.yaml",
            "calendars:\n  default:\n    state: NRW\n",
            ":3: calendars.default.state: not a German state's code",
        ),
        (
            "rules.yaml",
            "calendars:\n  default:\n    days_off: [2026-13-01]\n",
            ":3: calendars.default.days_off[0]: not a date",
        ),
        (
            "rules.yaml",
            "calendars:\n  default:\n    timezone: Mars/Olympus\n",
            ":3: calendars.default.timezone: not a time zone",
        ),
        (
            "rules.yaml",
            "escalate_after: 99999999999999999999d\n",
            ":1: a duration must be from 0 to 366 days",
        ),
        (
            "rules.yaml",
            "rules:\n  - code: '*'\n    for: 1e400d\n",
            ":2: rules[0]: expected a duration like 90s",
        ),
        ("rules.yaml", "flapping:\n  changes: 1\n", ":2: flapping.changes: must be at least 2"),
        (
            "rules.yaml",
            "rate_limit:\n  tickets: 99999999999\n",
            ":2: rate_limit.tickets: must be at most 100000",
        ),
        (
            "rules.yaml",
            "thresholds:\n  - code: hot\n    value: sensors.value\n    above: .inf\n",
            ":4: thresholds[0].above: must be at most 1000000000000",
        ),
    ],
)
def test_what_would_break_the_collector_is_refused_on_load(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    """collector.yaml (with its ticket sinks) and rules.yaml: every number has a range, every name a
    meaning; each mistake is ``file:line: key: message``, without the secret."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        (load_collector_config if name == "collector.yaml" else load_rules)(path)
    assert str(err.value).startswith(str(path)), str(err.value)
    assert expected in str(err.value), str(err.value)
    assert "s3cret" not in str(err.value)


def test_a_calendar_of_nw_with_its_own_days_off_loads(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("calendars:\n  default:\n    state: NW\n    days_off: [2026-05-15]\n")
    calendars = Calendars(load_rules(path).calendars)
    assert not calendars.get(None).is_school_day(date(2026, 5, 15))
