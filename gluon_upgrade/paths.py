"""Paths that results keep: relative to the repository root when inside it, so they read the same everywhere."""
import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
"""The folder above the package: the checkout, for the editable install the Makefile makes."""


def portable_path(path: str) -> str:
    """``path`` relative to ``REPO_ROOT`` when it lies inside it, else absolute.

    Examples
    --------
    >>> portable_path(os.path.join(REPO_ROOT, "configs", "demo", "ssd_voc.yaml"))
    'configs/demo/ssd_voc.yaml'
    """
    full = os.path.abspath(path)
    inside = os.path.commonpath([full, REPO_ROOT]) == REPO_ROOT
    return os.path.relpath(full, REPO_ROOT) if inside else full


def existing_path(path: str) -> str:
    """``path`` as given when it exists (or is absolute); a relative path that exists only under ``REPO_ROOT``
    (as ``portable_path`` writes it) joined to it."""
    if os.path.isabs(path) or os.path.exists(path):
        return path
    under_root = os.path.join(REPO_ROOT, path)
    return under_root if os.path.exists(under_root) else path
