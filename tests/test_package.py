"""The package's import contract."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def test_import_without_mxnet_names_the_two_extras():
    code = "import sys; sys.modules['mxnet'] = None; import gluon_upgrade"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    assert "gluon-upgrade[cpu]" in result.stderr and "gluon-upgrade[cu112]" in result.stderr


def test_loading_a_config_runs_no_training_code():
    """Configuration depends on nothing of training: a plain load_config imports no gluon_upgrade.training module
    (which would, at its first run, install process-wide fork hooks)."""
    code = ("import sys; from gluon_upgrade.config.loader import load_config; "
            "load_config('configs/demo/ssd_voc_upgrade.yaml'); "
            "print(sorted(m for m in sys.modules if m.startswith('gluon_upgrade.training')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def module_imports():
    """Each module of the package and the package modules it imports, at module level or inside functions (an
    import deferred into a function to dodge a circle is still one)."""
    import ast
    package = os.path.join(ROOT, "gluon_upgrade")
    graph = {}
    for folder, _, names in os.walk(package):
        for name in names:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
            module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            base = parts[:-1]  # the package a relative import starts from
            edges = set()
            for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
                if isinstance(node, ast.Import):
                    edges |= {a.name for a in node.names if a.name.startswith("gluon_upgrade")}
                elif isinstance(node, ast.ImportFrom):
                    start = base[:len(base) - node.level + 1] if node.level else []
                    target = ".".join(start + (node.module.split(".") if node.module else []))
                    if target.startswith("gluon_upgrade"):
                        edges.add(target)
                        edges |= {target + "." + a.name for a in node.names}
            graph[module] = edges
    return {m: {e for e in edges if e in graph and e != m} for m, edges in graph.items()}


def test_the_import_graph_has_no_circle():
    graph, circles, done = module_imports(), [], set()

    def visit(module, path):
        for nxt in sorted(graph[module]):
            if nxt in path:
                circles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in done:
                visit(nxt, path + [nxt])
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    assert len(graph) > 100 and circles == []


def test_the_demo_networks_do_not_import_their_pretraining():
    """The builder finds the stand-in backbone and hands its file to the constructor (base_weights)."""
    graph = module_imports()
    for model in ("demo_ssd", "demo_ssd_os8", "demo_yolo"):
        assert "gluon_upgrade.models.pretrain" not in graph["gluon_upgrade.models." + model]
    assert "gluon_upgrade.models.pretrain" in graph["gluon_upgrade.models.build"]


def test_mxnets_own_launcher_still_cannot_run_here_as_training_launch_says():
    """training/launch.py exists because the wheel's dmlc_tracker calls Thread.isAlive(), gone since Python 3.9;
    when MXNet's copy stops doing so (or this Python has it back), the project's launcher can give way to it."""
    import threading
    import dmlc_tracker.tracker
    source = open(dmlc_tracker.tracker.__file__, encoding="utf-8").read()
    assert "thread.isAlive()" in source and not hasattr(threading.Thread, "isAlive")


@pytest.mark.slow
def test_a_non_editable_install_trains_a_demo_epoch_outside_the_checkout(tmp_path):
    """``pip install .`` (not editable) into a fresh virtual environment, then from an empty folder: the console
    entry point, a bundled config by its ``configs/...`` name, the demo data, one training epoch, and nothing
    written into the installed package. The environment borrows this one's dependencies (mxnet, gluoncv,
    setuptools) through a path file, without its editable install of the checkout."""
    import shutil
    import sysconfig
    import venv
    source = tmp_path / "source"
    top = {".git", ".venv", "data", "runs", "results", "build", "gluon_upgrade.egg-info", ".pytest_cache"}
    shutil.copytree(ROOT, source, ignore=lambda folder, names: [n for n in names if n == "__pycache__" or (
        os.path.samefile(folder, ROOT) and n in top)])
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=True)
    python, program = env_dir / "bin" / "python", env_dir / "bin" / "gluon-upgrade"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(site, "borrowed.pth"), "w") as f:
        f.write(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GLUON_UPGRADE_CONFIGS")}
    env["MXNET_HOME"] = str(tmp_path / "home")
    installed = subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                                "--no-index", str(source)], capture_output=True, text=True, env=env)
    assert installed.returncode == 0, installed.stderr[-2000:]
    package = os.path.join(site, "gluon_upgrade")
    before = sorted(os.path.relpath(os.path.join(d, n), package) for d, _, names in os.walk(package) for n in names
                    if "__pycache__" not in d)
    work = tmp_path / "work"
    work.mkdir()

    def run(*args):
        return subprocess.run([str(a) for a in args], cwd=work, capture_output=True, text=True, env=env, timeout=600)

    where = run(python, "-c", "import gluon_upgrade; print(gluon_upgrade.__file__)")
    assert where.stdout.strip() == os.path.join(package, "__init__.py"), where.stderr[-2000:]
    listing = run(program)
    assert listing.returncode == 2 and "train " in listing.stdout and "effect-study" in listing.stdout
    assert run(program, "upgrade", "--help").stdout.startswith("usage: gluon-upgrade upgrade")
    made = run(program, "make-demo-data", "--output", "voc", "--train", 16, "--test", 8, "--size", 96, "--workers", 1)
    assert made.returncode == 0, made.stderr[-2000:]
    trained = run(program, "train", "--config", "configs/demo/ssd_voc.yaml", "--output", "run", "--no-progress",
                  "--set", "data.root=voc", "--set", "model.pretrained_base=false", "--set", "data.num_workers=0",
                  "--set", "train.epochs=1", "--set", "train.lr_decay_epoch=[]", "--set", "train.warmup_epochs=0")
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert "trained to epoch 1" in trained.stdout
    with open(work / "run" / "metrics.csv") as f:
        assert len(f.read().strip().splitlines()) == 2  # the header and epoch 1
    after = sorted(os.path.relpath(os.path.join(d, n), package) for d, _, names in os.walk(package) for n in names
                   if "__pycache__" not in d)
    assert after == before
    assert not os.path.exists(os.path.join(ROOT, "build"))


def test_a_configs_path_names_the_configs_root_from_any_folder(tmp_path, monkeypatch):
    """``configs/...`` from a folder without configs: the checkout's by default, a copy named by
    GLUON_UPGRADE_CONFIGS when set (a value changed in the copy shows it is the one read)."""
    from gluon_upgrade.config.loader import load_config
    from gluon_upgrade.paths import CONFIGS_ENV, configs_root, existing_path
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CONFIGS_ENV, raising=False)
    assert os.path.samefile(configs_root(), os.path.join(ROOT, "configs"))
    assert os.path.samefile(existing_path("configs/demo/ssd_voc.yaml"), os.path.join(ROOT, "configs/demo/ssd_voc.yaml"))
    assert existing_path("configs/none.yaml") == "configs/none.yaml"  # found nowhere: as given, for the error
    assert load_config("configs/demo/ssd_voc.yaml").train.epochs == 8
    import shutil
    shutil.copytree(os.path.join(ROOT, "configs"), tmp_path / "mine")
    with open(tmp_path / "mine" / "demo" / "ssd_voc.yaml", "a") as f:
        f.write("seed: 7\n")
    monkeypatch.setenv(CONFIGS_ENV, str(tmp_path / "mine"))
    assert load_config("configs/demo/ssd_voc.yaml").seed == 7
    assert load_config("configs/demo/ssd_voc_upgrade.yaml").seed == 7  # its _base_ is read beside it


def test_caches_go_to_mxnet_home_else_the_user_cache(tmp_path, monkeypatch):
    from gluon_upgrade.ops import library_path
    from gluon_upgrade.paths import cache_dir
    monkeypatch.setenv("MXNET_HOME", str(tmp_path / "mx"))
    assert cache_dir("backbone") == str(tmp_path / "mx" / "gluon-upgrade" / "backbone")
    assert os.path.dirname(library_path()) == str(tmp_path / "mx" / "gluon-upgrade" / "ops")
    monkeypatch.delenv("MXNET_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir("ops") == str(tmp_path / "xdg" / "gluon-upgrade" / "ops") and os.path.isdir(cache_dir("ops"))


def test_the_console_command_lists_runs_and_records_the_commands(tmp_path):
    """``python -m gluon_upgrade`` (what the ``gluon-upgrade`` console script runs): the list, one line and exit 2
    for an unknown command, and a command's report naming it as typed."""
    def run(*args):
        return subprocess.run([sys.executable, "-m", "gluon_upgrade", *map(str, args)], cwd=tmp_path,
                              capture_output=True, text=True)
    listing = run()
    assert listing.returncode == 2 and listing.stdout.startswith("usage: gluon-upgrade COMMAND")
    assert "  make-demo-data " in listing.stdout and run("--help").returncode == 0
    unknown = run("trian", "--config", "x.yaml")
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: no command 'trian'; the commands: train,")
    assert len(unknown.stderr.strip().splitlines()) == 1
    made = run("make-demo-data", "--output", "d", "--train", 6, "--test", 6, "--size", 48, "--workers", 1,
               "--report", "d.md")
    assert made.returncode == 0, made.stderr[-2000:]
    assert ("Made by `gluon-upgrade make-demo-data --output d --train 6 --test 6 --size 48 --workers 1 --report "
            "d.md`") in open(tmp_path / "d.md").read()
    bad = run("train", "--config", "none.yaml")
    assert bad.returncode == 2 and bad.stderr.strip() == "error: config file not found: none.yaml"
