"""Property-based tests of the config loaders (agent.yaml, collector.yaml with its ticket sinks, schools.yaml,
rules.yaml) and of the report schema's decoder, fed whatever an operator may type or an agent may send.

A loader returns a config or raises ``ConfigError`` (``file:line: key: message``), never anything else,
and never with a secret in its message, wherever the secret was typed (its own key, an enum field, after
a YAML tag). The report decoder returns a batch or raises msgspec's errors (a 400), nothing else.
Budget: tests/support/properties.py.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import yaml
from hypothesis import given
from hypothesis import strategies as st

import tests.support.properties  # noqa: F401  (the budget these tests run with)
from campuswatch.agent.config import load_agent_config
from campuswatch.collector.alerting.rules import load_rules
from campuswatch.collector.config import load_collector_config, load_schools
from campuswatch.config import ConfigError
from campuswatch.report import decode_batch

#: Planted in secret places; no error message may ever show it.
SECRET = "Geheim-9f3k"

LOADERS: dict[str, Callable[[Path], object]] = {
    "agent.yaml": load_agent_config,
    "collector.yaml": load_collector_config,
    "schools.yaml": load_schools,
    "rules.yaml": load_rules,
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "2026-13-01", "10.20.1.300", "NRW", "1e400", "99999999999999999999d", "-5", "0"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def load(name: str, text: str) -> object:
    """``text`` loaded as the config file ``name`` (in a directory of its own)."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / name
        path.write_text(text, encoding="utf-8")
        return LOADERS[name](path)


@given(st.sampled_from(sorted(LOADERS)), st.text(max_size=400))
def test_any_text_is_a_config_or_a_config_error(name: str, text: str) -> None:
    with contextlib.suppress(ConfigError):
        load(name, text)


def agent_yaml(
    top: dict[str, Any], device: dict[str, Any], credentials: dict[str, Any], defaults: dict[str, Any]
) -> dict[str, Any]:
    return {
        "school": "bbg",
        "collector": {"url": "http://127.0.0.1:8750", "token": SECRET},
        "devices": [{"id": "d1", "address": "10.0.0.5", **device}],
        "credentials": {"netz": {"version": "3", "user": "u", **credentials}},
        "defaults": defaults,
        **top,
    }


#: Keys an operator may give a wrong value, each with what may end up there (a secret included).
agent_keys = {
    "device": st.tuples(
        st.dictionaries(
            st.sampled_from(
                [
                    "address",
                    "interval_s",
                    "timeout_s",
                    "retries",
                    "parent",
                    "max_poll_s",
                    "max_poll_bytes",
                    "lamp_life_h",
                    "credentials",
                ]
            ),
            values,
            max_size=3,
        ),
        st.dictionaries(
            st.sampled_from(["community", "password", "protocol", "version"]),
            st.one_of(values, st.just(SECRET)),
            max_size=2,
        ),
    ).map(lambda pair: {**pair[0], **pair[1]}),
    "credentials": st.dictionaries(
        st.sampled_from(["auth_protocol", "priv_protocol", "auth_key", "priv_key", "community", "version"]),
        st.one_of(values, st.just(SECRET), st.just(SECRET[:5])),
        max_size=4,
    ),
    "defaults": st.dictionaries(
        st.sampled_from(["interval_s", "timeout_s", "retries", "jitter_s", "max_poll_s", "lamp_life_h"]),
        values,
        max_size=3,
    ),
    "top": st.dictionaries(
        st.sampled_from(["heartbeat_s", "outbox_max_bytes", "metrics_listen", "agent_id", "discovery"]),
        values,
        max_size=2,
    ),
}


@given(st.fixed_dictionaries(agent_keys), st.booleans())
def test_an_agent_yaml_with_any_values_loads_or_says_where_without_the_secret(
    parts: dict[str, Any], tagged: bool
) -> None:
    text = yaml.safe_dump(agent_yaml(parts["top"], parts["device"], parts["credentials"], parts["defaults"]))
    if tagged:  # a YAML tag on the secret's line, as an operator used to Ansible might write it
        text = text.replace(f"token: {SECRET}", f"token: !vault {SECRET}")
    try:
        load("agent.yaml", text)
    except ConfigError as err:
        assert SECRET not in str(err) and SECRET[:5] not in str(err)
        assert str(err).startswith(("/", "agent.yaml")), str(err)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "heartbeat_s",
                "offline_after_missed",
                "events_retention_days",
                "reopen_within_s",
                "unreachable_after_polls",
                "max_body_bytes",
                "listen",
                "alertmanager_token",
            ]
        ),
        values,
        max_size=3,
    ),
    st.dictionaries(
        st.sampled_from(["port", "security", "timeout_seconds", "sender", "subject_prefix", "password"]),
        st.one_of(values, st.just(SECRET)),
        max_size=3,
    ),
)
def test_a_collector_yaml_with_any_values_loads_or_says_where_without_the_secret(
    top: dict[str, Any], mail: dict[str, Any]
) -> None:
    sink = {"type": "email", "name": "m", "host": "h", "sender": "a@b.example", "recipients": ["c@d.example"]}
    text = yaml.safe_dump({**top, "ticket_sinks": [{**sink, "username": "u", "password": SECRET, **mail}]})
    try:
        load("collector.yaml", text)
    except ConfigError as err:
        assert SECRET not in str(err)


@given(
    st.dictionaries(
        st.sampled_from(["state", "timezone", "school_hours", "lessons", "days_off"]), values, max_size=3
    ),
    st.dictionaries(st.sampled_from(["for", "clear_for", "severity", "impact", "kind"]), values, max_size=3),
    st.dictionaries(st.sampled_from(["changes", "window", "stable"]), values, max_size=2),
)
def test_a_rules_yaml_with_any_values_loads_or_is_a_config_error(
    calendar: dict[str, Any], rule: dict[str, Any], flapping: dict[str, Any]
) -> None:
    text = yaml.safe_dump({"calendars": {"default": calendar}, "rules": [rule], "flapping": flapping})
    with contextlib.suppress(ConfigError):
        load("rules.yaml", text)


@given(st.binary(max_size=600))
def test_any_bytes_are_a_batch_or_a_decode_error(body: bytes) -> None:
    with contextlib.suppress(msgspec.DecodeError):  # ValidationError is one too: both are a 400
        decode_batch(body)


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "type": st.sampled_from(["poll", "heartbeat", "discovery", "other"]),
                "seq": values,
                "at": values,
            },
            optional={"poll": values, "heartbeat": values, "devices": values},
        ),
        max_size=4,
    ),
    values,
)
def test_any_report_shaped_json_is_a_batch_or_a_decode_error(
    events: list[dict[str, Any]], agent_id: Any
) -> None:
    body = json.dumps(
        {"schema_version": 1, "agent_id": agent_id, "school": "bbg", "events": events}, allow_nan=True
    ).encode()
    with contextlib.suppress(msgspec.DecodeError):
        decode_batch(body)
