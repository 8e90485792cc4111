"""Read a YAML config: resolve ``_base_`` files, apply ``--set`` overrides, validate against the schema.

``_base_`` (a path or a list of paths, relative to the file naming them) is read first and the file's own keys
are merged over it, mapping by mapping; any other value, lists included, replaces the base's.
"""
import copy
import os
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import yaml

from ..errors import ConfigError
from ..paths import existing_path, portable_path
from .train_section import fine_tune_decays, fine_tune_epochs
from .schema import Config, Origins, validate
from .sections import CHECKS, SCHEMA

BASE_KEY = "_base_"


def load_config(path: str, overrides: Sequence[str] = ()) -> Config:
    """Load, merge and validate a config file.

    Parameters
    ----------
    path : str
        A YAML file. A relative ``configs/...`` path that the working folder does not hold names the project's
        config of that name (``paths.configs_root``), so the bundled configs work from any folder.
    overrides : sequence of str
        ``key.path=value`` entries applied last; values are read as YAML (``3``, ``0.01``, ``[cpu]``, ``null``).

    Returns
    -------
    Config
        Every key of the schema, defaults filled in.

    Raises
    ------
    ConfigError
        A missing or unreadable file, a ``_base_`` cycle, or any key the schema rejects; the message names the
        file (or override), the key and the valid choices.

    Examples
    --------
    >>> cfg = load_config("configs/demo/ssd_voc.yaml", ["eval.batch_size=4"])
    >>> cfg.eval.batch_size, cfg.model.name
    (4, 'ssd_128_resnet29_v1_demo')
    """
    return _load(path, overrides, ())


PATH_KEYS = (("data", "root"), ("model", "weights"), ("train", "fine_tune_of"))
"""Keys holding a file or folder. A relative one is found, in this order, relative to the folder of the config
file that set it, to the working folder, and to the repository root; it is then written as ``portable_path``
does (relative to the repository root inside it, absolute elsewhere), so a saved config (a run's
``config.yaml``) means the same files from any working folder."""


def _load(path: str, overrides: Sequence[str], fine_tunes: Tuple[str, ...]) -> Config:
    path = existing_path(path)  # configs/... from any working folder: the configs root's copy
    origins: Origins = {}
    raw = _read_with_bases(path, origins, ())
    for entry in overrides:
        _apply_override(raw, entry, origins)
    _resolve_paths(raw, origins)
    _apply_fine_tune_rule(raw, origins, fine_tunes + (os.path.realpath(path),))
    return validate(raw, SCHEMA, origins, path, CHECKS)


def config_from_dict(raw: Mapping[str, Any], source: str = "<dict>") -> Config:
    """Validate a config given as a dict (``_base_`` not allowed), as ``load_config`` does a file."""
    origins: Origins = {}
    raw = copy.deepcopy(dict(raw))
    _note_origins(raw, (), source, origins)
    _resolve_paths(raw, origins)
    _apply_fine_tune_rule(raw, origins, ())
    return validate(raw, SCHEMA, origins, source, CHECKS)


def _resolve_paths(raw: Dict[str, Any], origins: Origins) -> None:
    """Find the ``PATH_KEYS`` a config sets as ``PATH_KEYS`` says; one found nowhere is left as written (the
    error that it is missing comes from where it is used, naming it)."""
    for section, key in PATH_KEYS:
        values = raw.get(section)
        if not isinstance(values, dict) or not isinstance(values.get(key), str):
            continue
        value = os.path.expanduser(values[key])
        if os.path.isabs(value):
            values[key] = value
            continue
        source = origins.get((section, key), "")
        beside = os.path.join(os.path.dirname(source), value) if os.path.isfile(source) else None
        found = beside if beside is not None and os.path.exists(beside) else existing_path(value)
        if os.path.exists(found):
            values[key] = portable_path(found)


def _apply_fine_tune_rule(raw: Dict[str, Any], origins: Origins, chain: Tuple[str, ...]) -> None:
    """Fill ``train.epochs`` and (a step schedule's) ``train.lr_decay_epoch`` of a fine-tune from its baseline
    config.

    ``train.fine_tune_of`` has been found as ``PATH_KEYS`` says.
    """
    train = raw.get("train")
    if not isinstance(train, dict) or not isinstance(train.get("fine_tune_of"), str):
        return
    source = origins.get(("train", "fine_tune_of"), "")
    baseline_path = os.path.abspath(existing_path(train["fine_tune_of"]))  # found by _resolve_paths
    if train.get("epochs") is not None and train.get("lr_decay_epoch") is not None:
        return
    where = "{}: train.fine_tune_of".format(source)
    if not os.path.isfile(baseline_path):
        raise ConfigError("{}: baseline config {} not found".format(where, baseline_path))
    if os.path.realpath(baseline_path) in chain:
        raise ConfigError("{}: fine-tune cycle through {}".format(where, baseline_path))
    baseline = _load(baseline_path, (), chain)
    rule = "the paper's fine-tune rule applied to {} ({} epochs)".format(baseline_path, baseline.train.epochs)
    if train.get("epochs") is None:
        train["epochs"] = fine_tune_epochs(baseline.train.epochs)
        origins[("train", "epochs")] = rule
    if train.get("lr_decay_epoch") is None and isinstance(train["epochs"], int) and train.get("lr_mode") != "poly":
        train["lr_decay_epoch"] = fine_tune_decays(train["epochs"])
        origins[("train", "lr_decay_epoch")] = rule


def _read_with_bases(path: str, origins: Origins, chain: Tuple[str, ...]) -> Dict[str, Any]:
    real = os.path.realpath(path)
    if real in chain:
        raise ConfigError("{}: _base_ cycle: {}".format(path, " -> ".join(chain + (real,))))
    data = read_mapping(path)
    bases = data.pop(BASE_KEY, None)
    if isinstance(bases, str):
        bases = [bases]
    if bases is not None and not (isinstance(bases, list) and all(isinstance(b, str) for b in bases)):
        raise ConfigError("{}: _base_ must be a path or a list of paths, got {!r}".format(path, bases))
    merged: Dict[str, Any] = {}
    for base in bases or []:
        base_path = os.path.join(os.path.dirname(path), base)
        if not os.path.isfile(base_path):
            raise ConfigError("{}: _base_ file {} not found".format(path, base_path))
        _merge(merged, _read_with_bases(base_path, origins, chain + (real,)))
    _note_origins(data, (), path, origins)
    _merge(merged, data)
    return merged


def read_mapping(path: str) -> Dict[str, Any]:
    """A YAML file's mapping ({} for an empty file).

    Raises
    ------
    ConfigError
        A missing file, invalid YAML, or a document that is not a mapping.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except FileNotFoundError:
        raise ConfigError("config file not found: {}".format(path)) from None
    except yaml.YAMLError as err:
        raise ConfigError("{}: not valid YAML: {}".format(path, err)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("{}: a config is a mapping of sections, got {}".format(path, type(data).__name__))
    return data


def _merge(into: Dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def _note_origins(data: Mapping[str, Any], prefix: Tuple[str, ...], source: str, origins: Origins) -> None:
    for key, value in data.items():
        origins[prefix + (key,)] = source
        if isinstance(value, Mapping):
            _note_origins(value, prefix + (key,), source, origins)


def _apply_override(raw: Dict[str, Any], entry: str, origins: Origins) -> None:
    key, sep, text = entry.partition("=")
    path = tuple(key.strip().split("."))
    if not sep or not all(path):
        raise ConfigError("--set {}: expected key.path=value, e.g. train.lr=0.01".format(entry))
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError("--set {}: value is not valid YAML: {}".format(entry, err)) from None
    node: Optional[Dict[str, Any]] = raw
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError("--set {}: '{}' is a value, not a section".format(entry, part))
        node = child
    node[path[-1]] = value
    origins[path] = "--set " + entry

