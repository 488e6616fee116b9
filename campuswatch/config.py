"""Strict YAML configs: typed by msgspec, errors that name the file, line and key, secrets that never print.

A config is a msgspec Struct with ``forbid_unknown_fields``; :func:`load_yaml` parses the file with PyYAML,
keeps each node's line, converts it to the Struct, and turns any problem into a :class:`ConfigError` such
as ``agent.yaml:12: devices[2].community: Expected `str`, got `int```.

No error quotes a value from the file: the value on a wrong line may be a secret (a community typed into
an enum field, a password after a YAML tag). Numbers get their range from the type
(``Annotated[float, Meta(ge=1, le=86400)]``) and an error names it ("must be at least 1").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import msgspec.inspect
import yaml

T = TypeVar("T")
log = logging.getLogger(__name__)


class ConfigError(Exception):
    """A config file that cannot be used; the message names file, line and key."""

    def __init__(self, path: str, line: int | None, key: str, message: str) -> None:
        self.path = path
        self.line = line
        self.key = key
        self.message = message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


class Invalid(Exception):
    """Raised by a config's cross-field check: ``key`` is the path to the offending key, e.g. ``("devices", 2,
    "credentials")``; :func:`parse_yaml` turns it into a :class:`ConfigError` with the line."""

    def __init__(self, key: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


class Ignored(Invalid):
    """A key that is still read but no longer has any effect (it moved elsewhere): a config's check
    returns these, and :func:`parse_yaml` logs each as a warning naming file, line and key, instead of
    stopping a program over a setting that changes nothing."""


#: A config's cross-field check: raises :class:`Invalid`, or returns the keys it ignores.
Check = Callable[[T], Iterable[Ignored] | None]


class Secret:
    """A password, community or token: its value is only available through :meth:`reveal`.

    ``repr`` and ``str`` print ``<secret>``, so a Secret inside a config, an exception or a log record
    cannot leak.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _dec_hook(type_: type, obj: Any) -> Any:
    if type_ is Secret:
        if isinstance(obj, str) and obj:
            return Secret(obj)
        # A ValueError (not ValidationError) makes msgspec add the key path to the message.
        raise ValueError("expected a non-empty string")
    if type_ is Path:
        if isinstance(obj, str):
            return Path(obj)
        raise ValueError("expected a path")
    raise NotImplementedError(f"no decoder for {type_!r}")


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, Secret):
        return "<secret>"
    if isinstance(obj, Path):
        return str(obj)
    raise NotImplementedError(f"cannot encode {type(obj)!r}")


def _construct(
    node: yaml.Node, lines: dict[tuple[Any, ...], int], path: tuple[Any, ...], scalars: yaml.SafeLoader
) -> Any:
    """The plain data of ``node``, recording in ``lines`` the line of every key path below ``path``.

    Mappings and sequences are walked here, noting each key's line on the way (PyYAML's own constructors
    forget the marks); ``scalars`` builds the plain values.
    """
    # A mapping value's key line (set by the caller) says better where an entry is than its value's line.
    lines.setdefault(path, node.start_mark.line + 1)
    if not node.tag.startswith(_STANDARD_TAGS):
        # PyYAML's own error would quote the line, and the value on it may be a secret.
        raise ConfigError(
            "",
            node.start_mark.line + 1,
            _key_name(path),
            f"YAML tag {node.tag[:40]} is not supported: write the value itself, quoted if need be",
        )
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = scalars.construct_object(key_node)
            if key in out:
                raise ConfigError("", key_node.start_mark.line + 1, _key_name((*path, key)), "duplicate key")
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, lines, (*path, key), scalars)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, lines, (*path, i), scalars) for i, item in enumerate(node.value)]
    try:
        return scalars.construct_object(node)
    except Exception:  # PyYAML raises what its constructors raise (2026-13-01 is a ValueError of date())
        form = node.tag.rpartition(":")[2]
        what = "a date (YYYY-MM-DD)" if form == "timestamp" else f"a valid {form}"
        raise ConfigError("", node.start_mark.line + 1, _key_name(path), f"not {what}") from None


#: Tags YAML gives nodes itself (``!!str`` and the like, and the implicit ones); any other tag is an
#: application's extension (``!secret``, ``!include``) that these configs do not have.
_STANDARD_TAGS = ("tag:yaml.org,2002:",)


def _key_name(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_PATH_RE = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]|\[\'?([^\]\']+)\'?\]")
#: msgspec writes a mapping's key as ``[...]`` in its error paths; :func:`_resolve_keys` finds which one.
_ANY_KEY = "..."
_JSON_TYPE = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    list: "array",
    dict: "object",
    type(None): "null",
}


def _parse_msgspec_path(text: str) -> tuple[Any, ...]:
    parts: list[Any] = []
    for m in _PATH_RE.finditer(text):
        if m.group(1) is not None:
            parts.append(m.group(1))
        elif m.group(2) is not None:
            parts.append(int(m.group(2)))
        else:
            parts.append(m.group(3))
    return tuple(parts)


def _at(raw: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        raw = raw[part]
    return raw


def _resolve_keys(raw: Any, path: tuple[Any, ...], fits: Any) -> tuple[Any, ...]:
    """Replace each ``[...]`` in an error path by the first mapping key for which ``fits(value)`` holds."""
    if _ANY_KEY not in path:
        return path
    i = path.index(_ANY_KEY)
    try:
        mapping = _at(raw, path[:i])
    except (KeyError, IndexError, TypeError):
        return path[:i]
    if not isinstance(mapping, dict):
        return path[:i]
    for key in mapping:
        candidate = _resolve_keys(raw, (*path[:i], key, *path[i + 1 :]), fits)
        try:
            if _ANY_KEY not in candidate and fits(_at(raw, candidate)):
                return candidate
        except (KeyError, IndexError, TypeError):
            continue
    return path[:i]


def _nearest_line(lines: dict[tuple[Any, ...], int], path: tuple[Any, ...]) -> int | None:
    while True:
        if path in lines:
            return lines[path]
        if not path:
            return None
        path = path[:-1]


def parse_yaml(text: str, type_: type[T], *, source: str = "<config>", check: Check[T] | None = None) -> T:
    """Parse YAML text into ``type_``, raising :class:`ConfigError` that names ``source``, line and key.

    ``check`` runs on the parsed config for rules the types cannot express; it raises :class:`Invalid`,
    and may return :class:`Ignored` keys, each logged as a warning with its line.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        raise ConfigError(
            source, mark.line + 1 if mark else None, "", f"not valid YAML: {err.problem}"
        ) from None
    except yaml.YAMLError as err:
        raise ConfigError(source, None, "", f"not valid YAML: {err}") from None
    lines: dict[tuple[Any, ...], int] = {}
    try:
        raw = {} if node is None else _construct(node, lines, (), yaml.SafeLoader(""))
    except ConfigError as err:
        raise ConfigError(source, err.line, err.key, err.message) from None
    try:
        config = msgspec.convert(raw, type_, dec_hook=_dec_hook, strict=True)
    except msgspec.ValidationError as err:
        message = str(err)
        key_path: tuple[Any, ...] = ()
        if " - at `$" in message:
            message, _, at = message.rpartition(" - at `$")
            key_path = _parse_msgspec_path(at.rstrip("`"))
        unknown = re.match(r"Object contains unknown field `(.+)`", message)
        missing = re.match(r"Object missing required field `(.+)`", message)
        got = re.search(r"got `(\w+)`", message)
        if unknown:
            key_path = _resolve_keys(raw, key_path, lambda v: isinstance(v, dict) and unknown.group(1) in v)
        elif missing:
            key_path = _resolve_keys(
                raw, key_path, lambda v: isinstance(v, dict) and missing.group(1) not in v
            )
        elif got:
            key_path = _resolve_keys(raw, key_path, lambda v: _JSON_TYPE.get(type(v)) == got.group(1))
        else:
            key_path = _resolve_keys(raw, key_path, lambda v: True)
        if unknown:
            key_path = (*key_path, unknown.group(1))
            message = "unknown key (a typo?)"
        if missing:
            message = f"required key `{missing.group(1)}` is missing"
        message = _without_values(message, type_, key_path)
        raise ConfigError(source, _nearest_line(lines, key_path), _key_name(key_path), message) from None
    if check is not None:
        try:
            ignored = check(config)
        except Invalid as err:
            raise ConfigError(
                source, _nearest_line(lines, err.key), _key_name(err.key), err.message
            ) from None
        for key in ignored or ():
            where = ConfigError(source, _nearest_line(lines, key.key), _key_name(key.key), key.message)
            log.warning("config key ignored", extra={"config": str(where)})
    return config


_BOUND = re.compile(r"Expected `(\w+)` (>=|>|<=|<) (\S+)$")
_BOUND_WORDS = {">=": "at least", ">": "more than", "<=": "at most", "<": "less than"}


def _without_values(message: str, type_: Any, key_path: tuple[Any, ...]) -> str:
    """msgspec's message in the words of a config, and never quoting the value that was wrong."""
    bound = _BOUND.match(message)
    if bound:
        kind, op, limit = bound.groups()
        number = limit.removesuffix(".0") if kind == "float" else limit
        return f"must be {_BOUND_WORDS[op]} {number}"
    if message.startswith("Invalid enum value"):
        allowed = _allowed_values(type_, key_path)
        return f"must be one of: {', '.join(allowed)}" if allowed else "not one of the allowed values"
    return message


def _allowed_values(type_: Any, key_path: tuple[Any, ...]) -> list[str]:
    """The literal values the field at ``key_path`` of ``type_`` may have (empty if it is no enum)."""
    info: Any = msgspec.inspect.type_info(type_)
    for part in key_path:
        info = _follow(info, part)
        if info is None:
            return []
    literals = [t for t in _alternatives(info) if isinstance(t, msgspec.inspect.LiteralType)]
    return [str(v) for t in literals for v in t.values]


def _alternatives(info: Any) -> list[Any]:
    return list(info.types) if isinstance(info, msgspec.inspect.UnionType) else [info]


def _follow(info: Any, part: Any) -> Any:
    """The type one step down ``part`` (a field name, a list index or a mapping key) from ``info``."""
    for option in _alternatives(info):
        if isinstance(option, msgspec.inspect.StructType) and isinstance(part, str):
            found = next((f.type for f in option.fields if f.encode_name == part), None)
            if found is not None:
                return found
        if isinstance(option, msgspec.inspect.ListType) and isinstance(part, int):
            return option.item_type
        if isinstance(option, msgspec.inspect.DictType):
            return option.value_type
    return None


def load_yaml(path: str | Path, type_: type[T], check: Check[T] | None = None) -> T:
    """Read and parse a YAML config file into ``type_`` (see :func:`parse_yaml`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(str(p), None, "", f"cannot read: {err.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(str(p), None, "", "not UTF-8 text") from None
    return parse_yaml(text, type_, source=str(p), check=check)


def to_builtins(obj: Any) -> Any:
    """A config as plain data with every secret shown as ``<secret>`` (for ``--print-config`` and logs)."""
    return msgspec.to_builtins(obj, enc_hook=_enc_hook)
