#!/usr/bin/env python
"""Images per second of the training loop against a bare forward/backward/step loop on the same data and network.

The loop (``gluon_upgrade.training.loop.train``) adds the learning-rate schedule, loss bookkeeping, the
non-finite check, the progress bar and checkpoints; the bare loop is only ``record``, the detector's losses,
``backward`` and ``trainer.step``. Both run the same hybridized network on the same loader; each is timed on its
second epoch (the first builds graphs). Writes ``results/bench/train_loop.{md,json}``.

    python benchmarks/bench_train_loop.py --config configs/demo/ssd_voc.yaml [--set model.data_shape=160]
"""
import csv
import os
import tempfile
import time
import warnings

import mxnet as mx
from mxnet import autograd

from gluon_upgrade.cli import command_parser
from gluon_upgrade.config.loader import load_config
from gluon_upgrade.data.datasets import detection_dataset
from gluon_upgrade.data.transforms import train_loader
from gluon_upgrade.machine import format_machine, machine_record
from gluon_upgrade.models.build import build_network, input_size
from gluon_upgrade.reporting.files import write_json, write_text
from gluon_upgrade.reporting.tables import markdown_table
from gluon_upgrade.runtime import contexts
from gluon_upgrade.training.distributed import connect
from gluon_upgrade.training.loop import seed_epoch, train
from gluon_upgrade.training.losses import detector_losses
from gluon_upgrade.training.optim import make_trainer


def bare_images_per_second(config) -> float:
    """Second-epoch images/s of the plainest loop that trains the config's network."""
    ctx = contexts(config.ctx)
    seed_epoch(config.seed, 0)
    dataset = detection_dataset(config.data, train=True)
    net = build_network(config.model, dataset.classes, ctx)
    batch_size = config.train.batch_size
    loader = train_loader(dataset, net, input_size(config.model), batch_size, config.data.num_workers)
    losses = detector_losses(net)
    trainer = make_trainer(net, config.train, connect("device"))
    net.hybridize(static_alloc=True, static_shape=True)
    seconds = 0.0
    for epoch in (1, 2):
        seed_epoch(config.seed, epoch)
        start = time.perf_counter()
        for batch in loader:
            with autograd.record():
                totals, _ = losses(net, batch, ctx)
                autograd.backward(totals)
            trainer.step(losses.step_size(batch_size))
        mx.nd.waitall()
        seconds = time.perf_counter() - start
    return len(loader) * batch_size / seconds


def loop_images_per_second(config) -> float:
    """Second-epoch images/s that ``train()`` itself measured and wrote to ``metrics.csv``."""
    with tempfile.TemporaryDirectory() as folder:
        train(config, os.path.join(folder, "run"), progress=True)
        with open(os.path.join(folder, "run", "metrics.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
    return float(rows[-1]["images_per_second"])


def main():
    parser = command_parser(__doc__)
    parser.add_argument("--config", default="configs/demo/ssd_voc.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--output", default="results/bench", help="results folder")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    # Two epochs, no evaluation until the end (evaluation time is not in images/s anyway).
    overrides = ["train.epochs=2", "train.lr_decay_epoch=[]", "train.warmup_epochs=0", "train.val_interval=2",
                 "train.tensorboard=false"] + args.set
    config = load_config(args.config, overrides)
    bare = bare_images_per_second(config)
    loop = loop_images_per_second(config)
    result = {"config": args.config, "overrides": args.set, "model": config.model.name, "mode": config.model.mode,
              "input_size": input_size(config.model), "batch_size": config.train.batch_size, "ctx": config.ctx,
              "bare_images_per_second": round(bare, 2), "loop_images_per_second": round(loop, 2),
              "loop_over_bare": round(loop / bare, 3), "machine": machine_record(config.ctx)}
    command = "python benchmarks/bench_train_loop.py --config {}{}".format(
        args.config, "".join(" --set " + s for s in args.set))
    table = markdown_table(["loop", "images/s (epoch 2)"], [["bare forward/backward/step", "{:.2f}".format(bare)],
                                                          ["gluon_upgrade train()", "{:.2f}".format(loop)],
                                                          ["ratio", "{:.3f}".format(loop / bare)]])
    text = ("# Training loop overhead\n\n{} ({}, {} px, batch {}, ctx {}).\n\n{}\n\n"
            "Machine: {}  \nMade by: `{}`\n").format(config.model.name, config.model.mode, input_size(config.model),
                                                     config.train.batch_size, config.ctx, table,
                                                     format_machine(result["machine"]), command)
    write_json(os.path.join(args.output, "train_loop.json"), result)
    write_text(os.path.join(args.output, "train_loop.md"), text)
    print(text)


if __name__ == "__main__":
    main()
