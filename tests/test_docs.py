"""The README and the docs as a reader meets them: every link leads somewhere, every configs/ and scripts/ path
they name exists, and every command line they show parses with its script's own argument parser."""
import glob
import importlib
import os
import re

import pytest
from conftest import command_lines, doc_commands

from gluon_upgrade.commands import COMMANDS, module_name

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DOCS = ["README.md", *sorted(glob.glob("docs/*.md", root_dir=ROOT)), "results/demo/README.md",
        "results/bench/README.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")
PATH = re.compile(r"(?<![\w/.-])((?:configs|scripts|benchmarks)/[\w./-]+\.(?:yaml|py|sh))")


def read(doc):
    with open(os.path.join(ROOT, doc), encoding="utf-8") as f:
        return f.read()


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(doc):
    return {slug(line.lstrip("#")) for line in read(doc).splitlines() if line.startswith("#")}


def test_the_readme_fits_a_screen_or_two():
    assert len(read("README.md").encode("utf-8")) <= 8 * 1024


@pytest.mark.parametrize("doc", DOCS)
def test_every_relative_link_and_anchor_leads_somewhere(doc):
    broken = []
    for target in LINK.findall(read(doc)):
        if re.match(r"^(https?|mailto):", target):
            continue
        path, _, anchor = target.partition("#")
        full = os.path.normpath(os.path.join(ROOT, os.path.dirname(doc), path)) if path else os.path.join(ROOT, doc)
        if not os.path.exists(full):
            broken.append(target)
        elif anchor and full.endswith(".md") and anchor not in anchors(os.path.relpath(full, ROOT)):
            broken.append(target)
    assert broken == []


@pytest.mark.parametrize("doc", DOCS)
def test_every_named_config_and_script_exists(doc):
    missing = sorted({p for p in PATH.findall(read(doc)) if not os.path.exists(os.path.join(ROOT, p))})
    assert missing == []


@pytest.mark.parametrize("doc", DOCS)
def test_every_command_shown_parses(doc):
    """The command lines as written (``python scripts/X.py`` or ``gluon-upgrade X``), each through its command's
    own argument parser (a command whose arguments do not parse exits 2 there)."""
    for command, args in doc_commands(doc):
        assert command in COMMANDS, "{}: no command {}".format(doc, command)
        try:
            importlib.import_module(module_name(command)).parse_args(args)
        except SystemExit as stop:
            pytest.fail("{}: {} {} does not parse (exit {})".format(doc, command, " ".join(args), stop.code))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_example_in_a_commands_help_parses(command):
    """The examples ``--help`` shows (the module docstring), through the parser of the command each names."""
    module = importlib.import_module(module_name(command))
    examples = command_lines(module.__doc__.partition("Examples\n--------")[2])
    assert examples or command in ("build-ops",)
    for name, args in examples:
        try:
            importlib.import_module(module_name(name)).parse_args(args)
        except SystemExit as stop:
            pytest.fail("{} --help: {} {} does not parse (exit {})".format(command, name, " ".join(args), stop.code))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_commands_help_shows_its_summary_and_its_examples(command, capsys):
    """``--help`` prints the module docstring's first line before the options and its examples after them (it
    printed the docstring's second line, blank for most commands, and no examples)."""
    module = importlib.import_module(module_name(command))
    with pytest.raises(SystemExit) as stop:
        module.parse_args(["--help"])
    shown = capsys.readouterr().out
    assert stop.value.code == 0
    usage, options = shown.index("usage:"), shown.index("options:")
    assert usage < shown.index(module.__doc__.splitlines()[0]) < options
    examples = [line for line in module.__doc__.partition("Examples\n--------\n")[2].splitlines() if line]
    assert all(options < shown.index(line) for line in examples)


def test_every_command_has_its_script_and_every_script_its_command():
    scripts = {os.path.splitext(name)[0].replace("_", "-") for name in os.listdir(os.path.join(ROOT, "scripts"))}
    assert scripts == set(COMMANDS)


def test_the_key_reference_is_the_schemas_own():
    """docs/config_reference.md is regenerated whenever a field changes (scripts/config_reference.py)."""
    from gluon_upgrade.config.reference import reference_markdown
    assert read("docs/config_reference.md") == reference_markdown()


def test_a_key_reference_row_says_type_default_values_and_meaning():
    from gluon_upgrade.config.schema import Field, key_reference
    schema = {"seed": Field(0, "the seed", int, minimum=0),
              "train": {"mode": Field("a", "a | b", str, choices=("a", "b")),
                        "decay": Field(None, "epochs", list, item=int, nullable=True)}}
    assert key_reference(schema) == ["| `seed` | int | `0` | >= 0 | the seed |",
                                     "| `train.mode` | str | `a` | one of a, b | a \\| b |",
                                     "| `train.decay` | list of int | `null` | or null | epochs |"]
