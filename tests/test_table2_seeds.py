"""Table II over seeds, on hand-made runs whose means, spreads, orderings and compute-to-match are known."""
import json

import matplotlib.image

from gluon_upgrade.experiments.runs import RunRecord
from gluon_upgrade.experiments.table2 import Table2
from gluon_upgrade.experiments.table2_seeds import SeedTable, images_to_match, plot_seeds


def record(maps, images=100, first_epoch=1):
    """A finished run with one row per mAP, from ``first_epoch`` (0: a fine-tune's untrained row)."""
    rows = [{"epoch": e, "map": m, "images": 0 if e == 0 else images, "seconds": 1.0, "eval_seconds": 0.5}
            for e, m in enumerate(maps, start=first_epoch)]
    epochs = rows[-1]["epoch"]
    config = {"train": {"epochs": epochs, "lr_decay_epoch": [epochs]}, "data": {"root": "demo"}, "model": {}}
    return RunRecord("run", config, rows, {"epoch": epochs})


def seed_table():
    tables = {
        0: Table2({"baseline": record([0.40, 0.50]), "dcn_scratch": record([0.45, 0.50, 0.52, 0.55]),
                   "upgrade": record([0.50, 0.54, 0.56], first_epoch=0),
                   "control": record([0.50, 0.52, 0.53], first_epoch=0)}, "cmd"),
        1: Table2({"baseline": record([0.41, 0.52]), "dcn_scratch": record([0.46, 0.50, 0.53, 0.56]),
                   "upgrade": record([0.52, 0.57], first_epoch=0),
                   "control": record([0.52, 0.58], first_epoch=0)}, "cmd"),
    }
    return SeedTable(tables, "python scripts/table2.py --seeds 2", 12.0)


def test_images_to_match_counts_training_images_until_the_target_is_first_reached():
    upgrade = record([0.50, 0.54, 0.56, 0.55], first_epoch=0)
    assert images_to_match(upgrade, 0.55) == 200
    assert images_to_match(upgrade, 0.50) == 0  # the upgraded baseline already scores it
    assert images_to_match(upgrade, 0.60) is None


def test_seed_table_means_spreads_orderings_and_compute_to_match():
    table = seed_table()
    assert table.finals("upgrade") == [0.56, 0.57]
    # Seed 0 reaches the DCN run's 0.55 after 2 fine-tune epochs (200 of its 400 images), seed 1 after 1.
    assert table.match_fractions() == [0.5, 0.25]
    assert table.orderings() == [[True, True], [True, True], [True, True], [True, False]]
    text = table.markdown()
    assert "| 3. upgrade of 1, fine-tuned | 56.50 +- 0.71 | 56.50 +- 0.71 | 56.00, 57.00 |" in text
    assert "| 4. control: 1 trained on as 3, no upgrade | 55.50 +- 3.54 | 55.50 +- 3.54 | 53.00, 58.00 |" in text
    # Upgrade minus control: +3 and -1 points: mean 1, sample standard deviation 2 * sqrt(2).
    assert "final mAP: 1.00 +- 2.83 points (per seed: +3.00, -1.00)" in text
    assert "| 3. upgrade of 1, fine-tuned > 4. control: 1 trained on as 3, no upgrade | 1 of 2 | yes, no |" in text
    assert "0.25): 0.500, 0.250." in text
    data = table.to_dict()
    assert data["match_fraction"] == [0.5, 0.25] and data["seeds"] == [0, 1]
    assert data["orderings"]["upgrade > control"] == [True, False]
    json.dumps(data)


def test_seed_plot_is_written(tmp_path):
    out = plot_seeds(seed_table(), str(tmp_path / "seeds.png"))
    image = matplotlib.image.imread(out)
    assert image.shape[0] > 100 and image.std() > 0
