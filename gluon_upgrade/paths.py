"""Where things are: paths that results keep (relative to the repository root when inside it, so they read the
same everywhere), the configs root, and the user cache."""
import os
import site
import sys

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
    """``path`` as given when it exists (or is absolute); else a ``configs/...`` path under ``configs_root()``, or a
    relative path that exists under ``REPO_ROOT`` (as ``portable_path`` writes it); else ``path`` as given."""
    if os.path.isabs(path) or os.path.exists(path):
        return path
    parts = os.path.normpath(path).split(os.sep)
    candidates = [os.path.join(configs_root(), *parts[1:])] if parts[0] == "configs" and len(parts) > 1 else []
    candidates.append(os.path.join(REPO_ROOT, path))
    return next((found for found in candidates if os.path.exists(found)), path)


CONFIGS_ENV = "GLUON_UPGRADE_CONFIGS"
"""Names the configs root, overriding where it is found."""
SHARED_CONFIGS = os.path.join("share", "gluon-upgrade", "configs")
"""Where ``pip install`` puts the configs, under the installation prefix (setup.py's ``data_files``)."""


def configs_root() -> str:
    """The folder of the project's configs, which a ``configs/...`` path names from any working folder.

    ``$GLUON_UPGRADE_CONFIGS`` when set; else the checkout's ``configs/`` beside the package; else the copy an
    installation holds (``<prefix>/share/gluon-upgrade/configs``, for a ``--user`` install under the user base).
    """
    if os.environ.get(CONFIGS_ENV):
        return os.environ[CONFIGS_ENV]
    candidates = [os.path.join(REPO_ROOT, "configs"), os.path.join(sys.prefix, SHARED_CONFIGS),
                  os.path.join(site.getuserbase(), SHARED_CONFIGS)]
    return next((found for found in candidates if os.path.isdir(found)), candidates[0])


def cache_dir(*parts: str) -> str:
    """A folder of the user cache, made if missing: ``$MXNET_HOME/gluon-upgrade`` when MXNet's home is set (where
    MXNet keeps its own downloads), else ``$XDG_CACHE_HOME/gluon-upgrade`` (``~/.cache/gluon-upgrade``).

    What is cached there is rebuilt from the installed code when missing: the demo backbones, the compiled
    operator. Never the package folder, which an installation may not let its user write.
    """
    home = os.environ.get("MXNET_HOME")
    root = os.path.join(home, "gluon-upgrade") if home else os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "gluon-upgrade")
    folder = os.path.join(root, *parts)
    os.makedirs(folder, exist_ok=True)
    return folder
