"""The shared YAML loader: every mistake names file, line and key, also inside mappings keyed by name."""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

import msgspec
import pytest

from campuswatch.config import ConfigError, Secret, parse_yaml, to_builtins


class School(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    manager: str | None = None


class Schools(msgspec.Struct, forbid_unknown_fields=True):
    schools: dict[str, School] = msgspec.field(default_factory=dict)
    password: Secret | None = None


GOOD = "schools:\n  a:\n    name: Alpha\n  bbg:\n    name: Bert-Brecht\n"


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        (GOOD.replace("name: Bert-Brecht", "name: 3"), 5, "schools.bbg.name", "Expected `str`, got `int`"),
        (GOOD.replace("name: Bert-Brecht", "nam: Bert-Brecht"), 5, "schools.bbg.nam", "unknown key"),
        (GOOD.replace("    name: Bert-Brecht\n", "    manager: x\n"), 4, "schools.bbg", "`name` is missing"),
        (GOOD + "  bbg:\n    name: again\n", 6, "schools.bbg", "duplicate key"),
        ("schools: 5\n", 1, "schools", "Expected `object`"),
    ],
)
def test_errors_point_at_the_key_inside_a_named_entry(text: str, line: int, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, Schools, source="schools.yaml")
    assert (info.value.line, info.value.key) == (line, key), str(info.value)
    assert words in str(info.value)
    assert str(info.value).startswith(f"schools.yaml:{line}: {key}: ")


def test_a_secret_is_typed_and_never_printed() -> None:
    config = parse_yaml(GOOD + "password: hunter2\n", Schools)
    assert isinstance(config.password, Secret) and config.password.reveal() == "hunter2"
    assert "hunter2" not in repr(config) + str(to_builtins(config)) + f"{config.password}"
    with pytest.raises(ConfigError, match="password"):
        parse_yaml(GOOD + "password: ''\n", Schools)


class Sink(msgspec.Struct, forbid_unknown_fields=True):
    security: Literal["none", "starttls", "tls"] = "none"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 25
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0
    days_off: list[datetime.date] = msgspec.field(default_factory=list)
    password: Secret | None = None


class Sinks(msgspec.Struct, forbid_unknown_fields=True):
    sinks: dict[str, Sink] = msgspec.field(default_factory=dict)


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("security: hunter2-secret", "sinks.mail.security", "must be one of: none, starttls, tls"),
        (
            "password: !secret hunter2-secret",
            "sinks.mail.password",
            "YAML tag !secret is not supported: write the value itself, quoted if need be",
        ),
        ("password: !!binary aHVudGVyMi1zZWNyZXQ=", "sinks.mail.password", "expected a non-empty string"),
        ("port: !!int hunter2-secret", "sinks.mail.port", "not a valid int"),
        ("port: 0", "sinks.mail.port", "must be at least 1"),
        ("port: 99999999999999999999999", "sinks.mail.port", "must be at most 65535"),
        ("timeout_s: 0", "sinks.mail.timeout_s", "must be more than 0"),
        ("timeout_s: .nan", "sinks.mail.timeout_s", "must be more than 0"),
        ("timeout_s: .inf", "sinks.mail.timeout_s", "must be at most 60"),
        ("days_off: [2026-13-01]", "sinks.mail.days_off[0]", "not a date (YYYY-MM-DD)"),
    ],
)
def test_a_wrong_value_is_named_never_quoted(text: str, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_yaml(f"sinks:\n  mail:\n    {text}\n", Sinks, source="collector.yaml")
    assert str(info.value) == f"collector.yaml:3: {key}: {message}"
    assert "hunter2" not in str(info.value) and "aHVudGVy" not in str(info.value)


def test_standard_yaml_tags_and_dates_still_load() -> None:
    config = parse_yaml("sinks:\n  m:\n    password: !!str 12345678\n    days_off: [2026-12-24]\n", Sinks)
    password = config.sinks["m"].password
    assert password is not None and password.reveal() == "12345678"
    assert config.sinks["m"].days_off == [datetime.date(2026, 12, 24)]
