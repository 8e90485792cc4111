"""Stress the data-loader worker pools of a training process (run by tests/test_sigterm.py in a subprocess).

Usage: python tests/fork_stress.py DEMO_VOC_ROOT OUTPUT_DIR TRAIN_RUNS LOADER_CYCLES

Inside the training's SIGTERM handler, as a run has it: ``TRAIN_RUNS`` real ``train()`` runs (2 epochs, evaluation
every epoch, ``data.num_workers: 2``), then ``LOADER_CYCLES`` training and evaluation loaders with 2 workers each,
built, read (some only in part) and torn down. A watchdog ends the process with exit 3 and ``HANG in ...`` when one
step takes longer than its bound; the caller must kill the process group, since hung workers outlive it.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import mxnet as mx  # noqa: E402

from gluon_upgrade.config.loader import config_from_dict  # noqa: E402
from gluon_upgrade.data.datasets import VOCLayoutDetection  # noqa: E402
from gluon_upgrade.data.transforms import train_loader, val_loader  # noqa: E402
from gluon_upgrade.models.build import build_network  # noqa: E402
from gluon_upgrade.training.loop import _stop_on_sigterm, train  # noqa: E402

SIZE = 96
TRAIN_BOUND_S, LOADER_BOUND_S = 120, 20


class Watchdog:
    """Exit 3 when the current step outlives its bound (a hung pool never returns)."""

    def __init__(self):
        self.step, self.deadline = "start", time.monotonic() + TRAIN_BOUND_S
        threading.Thread(target=self._watch, daemon=True).start()

    def begin(self, step, bound):
        self.step, self.deadline = step, time.monotonic() + bound

    def _watch(self):
        while True:
            time.sleep(0.2)
            if time.monotonic() > self.deadline:
                print("HANG in {}".format(self.step), flush=True)
                os._exit(3)


def main(root, output, train_runs, loader_cycles):
    watchdog = Watchdog()
    config = config_from_dict({
        "model": {"name": "ssd_512_resnet18_v1_voc", "data_shape": SIZE, "pretrained_base": False},
        "data": {"format": "voc", "root": root, "train_splits": ["2007/trainval"], "val_splits": ["2007/test"],
                 "num_workers": 2},
        "eval": {"batch_size": 4},
        "train": {"epochs": 2, "lr_decay_epoch": [1], "lr": 0.01, "batch_size": 4, "hybridize": False}})
    for run in range(train_runs):
        watchdog.begin("train run {}".format(run), TRAIN_BOUND_S)
        train(config, os.path.join(output, "run{}".format(run)), progress=False)
    trainval = VOCLayoutDetection(root, ["2007/trainval"])
    test = VOCLayoutDetection(root, ["2007/test"])
    net = build_network(config["model"], trainval.classes, [mx.cpu()])
    with _stop_on_sigterm():
        for cycle in range(loader_cycles):
            watchdog.begin("loader cycle {}".format(cycle), LOADER_BOUND_S)
            loader = (train_loader(trainval, net, SIZE, 4, 2) if cycle % 2 else val_loader(test, SIZE, 4, 2))
            for i, _ in enumerate(loader):
                if cycle % 3 == 0 and i == 1:  # abandoned mid-epoch, as an interrupted run leaves it
                    break
            del loader
    print("finished {} train runs and {} loader cycles".format(train_runs, loader_cycles), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
