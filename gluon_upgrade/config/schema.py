"""Config fields and their validation: one ``Field`` per key, kept beside the code that reads the key.

A schema is a nested dict of section name -> (key -> ``Field`` or sub-schema). ``validate`` checks a merged
config against it, fills defaults, and raises ``ConfigError`` naming the file, the key and the valid choices.
"""
import difflib
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import yaml

from ..errors import ConfigError

_TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string", list: "a list"}


@dataclass(frozen=True)
class Field:
    """One config key: default, one-line documentation, type and the values it may take.

    ``minimum`` is inclusive; ``above`` is an exclusive lower bound; ``item`` types a list's entries (the bounds
    and ``choices`` then apply to each entry). An int is accepted where a float is asked for.
    """

    default: Any
    doc: str
    type: type
    item: Optional[type] = None
    choices: Optional[Sequence[Any]] = None
    minimum: Optional[float] = None
    above: Optional[float] = None
    maximum: Optional[float] = None
    nullable: bool = False

    def check(self, value: Any) -> Optional[str]:
        """Why ``value`` is not valid here, or None when it is."""
        if value is None:
            return None if self.nullable else "must be set ({})".format(self.doc)
        if self.type is list:
            if not isinstance(value, list):
                return "must be a list (of {} values), got {!r}".format(self.item.__name__, value)
            for entry in value:
                problem = self._check_scalar(entry, self.item)
                if problem:
                    return "entry {!r} {}".format(entry, problem)
            return None
        return self._check_scalar(value, self.type)

    def _check_scalar(self, value: Any, kind: type) -> Optional[str]:
        number = kind in (int, float)
        if isinstance(value, bool) != (kind is bool) or not (
                isinstance(value, kind) or (kind is float and isinstance(value, int))):
            return "must be {}, got {!r} ({})".format(_TYPE_NAMES[kind], value, type(value).__name__)
        if self.choices is not None and value not in self.choices:
            return "must be one of {}, got {!r}".format(", ".join(map(str, self.choices)), value)
        if number and self.minimum is not None and value < self.minimum:
            return "must be >= {:g}, got {!r}".format(self.minimum, value)
        if number and self.above is not None and value <= self.above:
            return "must be > {:g}, got {!r}".format(self.above, value)
        if number and self.maximum is not None and value > self.maximum:
            return "must be <= {:g}, got {!r}".format(self.maximum, value)
        return None


Schema = Mapping[str, Any]
Origins = Dict[Tuple[str, ...], str]
CrossCheck = Callable[[dict], List[Tuple[str, str]]]
"""A check across keys: takes the validated config, returns ``(key.path, problem)`` pairs."""


class Config(dict):
    """A validated config: nested dicts that also read as attributes (``cfg.model.name``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError("config has no key '{}' (keys: {})".format(name, ", ".join(self))) from None

    def to_yaml(self) -> str:
        """The config as YAML, keys in schema order."""
        return yaml.safe_dump(_plain(self), sort_keys=False, default_flow_style=None)


def key_reference(schema: Schema, prefix: str = "") -> List[str]:
    """Markdown table rows ``| key | type | default | values | meaning |``, one per key of ``schema``, in order,
    from the fields' own documentation (the reference of ``docs/config_reference.md``)."""
    rows = []
    for key, field in schema.items():
        path = prefix + key
        if isinstance(field, Mapping):
            rows += key_reference(field, path + ".")
            continue
        kind = "list of {}".format(field.item.__name__) if field.type is list else field.type.__name__
        bounds = ["one of " + ", ".join(str(c) for c in field.choices)] if field.choices else []
        bounds += [">= {:g}".format(field.minimum)] if field.minimum is not None else []
        bounds += ["> {:g}".format(field.above)] if field.above is not None else []
        bounds += ["<= {:g}".format(field.maximum)] if field.maximum is not None else []
        bounds += ["or null"] if field.nullable else []
        default = "null" if field.default is None else yaml.safe_dump(field.default, default_flow_style=True).strip()
        default = default[:-4].strip() if default.endswith("...") else default
        rows.append("| `{}` | {} | `{}` | {} | {} |".format(path, kind, default, "; ".join(bounds),
                                                            field.doc.replace("|", "\\|")))
    return rows


def differences(a: Mapping, b: Mapping, prefix: str = "") -> List[str]:
    """Dotted keys whose values differ between two configs of the same schema (``train.lr``, ...)."""
    keys = []
    for key in a:
        path = prefix + key
        if isinstance(a[key], Mapping):
            keys += differences(a[key], b[key], path + ".")
        elif a[key] != b[key]:
            keys.append(path)
    return keys


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def validate(raw: Mapping[str, Any], schema: Schema, origins: Origins, default_source: str,
             checks: Sequence[CrossCheck] = ()) -> Config:
    """Check ``raw`` against ``schema``, fill defaults, and run the cross-key ``checks``.

    Parameters
    ----------
    raw : mapping
        The merged config (``_base_`` already resolved).
    schema : mapping
        Section -> key -> ``Field`` (or a nested schema).
    origins : dict
        Key path -> the file (or ``--set``) that set it, for error messages.
    default_source : str
        Named in errors about keys no file set (a missing required value).

    Raises
    ------
    ConfigError
        Every problem found, one a line, each with its source, key path and the valid choices.
    """
    problems: List[str] = []
    config = _validate_section(raw, schema, (), origins, default_source, problems)
    if not problems:
        for check in checks:
            for path, problem in check(config):
                key = tuple(path.split("."))
                problems.append("{}: {} {}".format(_source(key, origins, default_source), path, problem))
    if problems:
        raise ConfigError("\n".join(problems))
    return config


def _validate_section(raw: Mapping[str, Any], schema: Schema, prefix: Tuple[str, ...], origins: Origins,
                      default_source: str, problems: List[str]) -> Config:
    out = Config()
    for key, value in raw.items():
        path = prefix + (key,)
        if key not in schema:
            close = difflib.get_close_matches(str(key), list(schema), n=1)
            problems.append("{}: unknown key '{}'{}; valid keys{}: {}".format(
                _source(path, origins, default_source), ".".join(map(str, path)),
                "; did you mean '{}'?".format(".".join(prefix + (close[0],))) if close else "",
                " in '{}'".format(".".join(prefix)) if prefix else "", ", ".join(schema)))
    for key, spec in schema.items():
        path = prefix + (key,)
        if isinstance(spec, Field):
            value = raw.get(key, spec.default)
            problem = spec.check(value)
            if problem:
                problems.append("{}: {} {}".format(_source(path, origins, default_source), ".".join(path), problem))
            out[key] = list(value) if isinstance(value, list) else value
            continue
        section = raw.get(key, {})
        if section is None:
            section = {}
        if not isinstance(section, Mapping):
            problems.append("{}: {} must be a mapping of keys ({}), got {!r}".format(
                _source(path, origins, default_source), ".".join(path), ", ".join(spec), section))
            section = {}
        out[key] = _validate_section(section, spec, path, origins, default_source, problems)
    return out


def _source(path: Tuple[str, ...], origins: Origins, default_source: str) -> str:
    for end in range(len(path), 0, -1):
        if path[:end] in origins:
            return origins[path[:end]]
    return default_source

