"""The config key reference (``docs/config_reference.md``), generated from the schema's field documentation."""
from .schema import key_reference
from .sections import SCHEMA


def reference_markdown() -> str:
    """The whole reference document: every key of ``SCHEMA`` with its type, default, allowed values and meaning."""
    return "\n".join([
        "# Config key reference",
        "",
        "Generated from the schema (`python scripts/config_reference.py --out docs/config_reference.md`); how configs "
        "are read, merged and overridden: [configs](configs.md).",
        "",
        "| key | type | default | values | meaning |",
        "|---|---|---|---|---|",
        *key_reference(SCHEMA),
    ]) + "\n"
