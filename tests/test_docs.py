"""The README and the docs as a reader meets them: every link leads somewhere, every configs/ and scripts/ path
they name exists, and every command line they show parses with its script's own argument parser."""
import glob
import importlib.util
import os
import re
import shlex

import pytest

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


def commands(doc):
    """``(script, arguments)`` of each ``python scripts/X.py ...`` line in the doc's code blocks."""
    found, block, pending = [], False, ""
    for line in read(doc).splitlines():
        if line.startswith("```"):
            block = not block
            continue
        if not block:
            continue
        line = pending + line.split("  #")[0].strip().rstrip("&").strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        words = shlex.split(line) if line.startswith("python scripts/") else []
        if words:
            found.append((words[1], words[2:]))
    return found


def parser_of(script):
    spec = importlib.util.spec_from_file_location("doc_" + os.path.basename(script)[:-3], os.path.join(ROOT, script))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.parse_args


@pytest.mark.parametrize("doc", DOCS)
def test_every_command_shown_parses(doc):
    """The command lines as written, each through its script's own argument parser (a command whose arguments
    do not parse exits 2 there)."""
    for script, args in commands(doc):
        try:
            parser_of(script)(args)
        except SystemExit as stop:
            pytest.fail("{}: python {} {} does not parse (exit {})".format(doc, script, " ".join(args), stop.code))


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
