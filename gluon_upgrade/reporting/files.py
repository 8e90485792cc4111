"""Write results files (JSON, Markdown), creating their folders: one place for every report and benchmark."""
import json
import os
from typing import Any


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8), creating the parent folder."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_json(path: str, data: Any) -> None:
    """Write ``data`` as indented JSON with a final newline, creating the parent folder."""
    write_text(path, json.dumps(data, indent=2) + "\n")
