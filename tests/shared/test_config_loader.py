"""The shared YAML loader: every mistake names file, line and key, also inside mappings keyed by name."""

from __future__ import annotations

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
