"""The demo set's class masks: the labelling rule on a hand-drawn scene, agreement with the boxes of the same
rendered scenes, and the VOC layout as GluonCV's VOCSegmentation reads it."""
import os

import numpy as np
from gluoncv.data import VOCSegmentation
from PIL import Image

from gluon_upgrade.data.scenes import VOID, class_mask, render_scene
from gluon_upgrade.data.shapes import CLASSES

V = VOID


def test_class_mask_of_a_hand_drawn_scene():
    """Object 0 (class 2) partly under object 1 (class 4), which the bottom border cuts; object 2 is difficult.
    Outline pixels on both sides are void; the border cuts no outline; worked out by hand."""
    owner = np.array([[-1, -1, -1, -1, -1, -1, -1, -1],
                      [-1, 0, 0, 0, 0, -1, -1, -1],
                      [-1, 0, 0, 0, 0, -1, 2, -1],
                      [-1, 0, 0, 0, 0, -1, -1, -1],
                      [-1, 0, 0, 1, 1, 1, -1, -1],
                      [-1, -1, -1, 1, 1, 1, -1, -1],
                      [-1, -1, -1, 1, 1, 1, -1, -1]])
    expected = np.array([[0, V, V, V, V, 0, 0, 0],
                         [V, V, V, V, V, V, V, 0],
                         [V, V, 3, 3, V, V, V, V],
                         [V, V, 3, V, V, V, V, 0],
                         [V, V, V, V, V, V, V, 0],
                         [0, V, V, V, 5, V, V, 0],
                         [0, 0, V, V, 5, V, V, 0]])
    mask = class_mask(owner, [2, 4, 0], {2})
    assert mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, expected)


def test_every_labelled_pixel_lies_in_a_box_of_its_class_and_the_objects_are_labelled():
    """Against the box annotations of the same scenes: no pixel carries a class where no box of that class is,
    and the objects' own pixels are mostly labelled (what is not is the void outline)."""
    labelled = visible = 0
    for index in range(24):
        rng = np.random.default_rng([11, index])
        scene = render_scene(rng, 120, 96, first_label=index % len(CLASSES))
        mask = scene.mask
        assert mask.shape == (96, 120) and set(np.unique(mask)) <= {0, VOID, *range(1, len(CLASSES) + 1)}
        for value in range(1, len(CLASSES) + 1):
            covered = np.zeros(mask.shape, dtype=bool)
            for obj in scene.objects:
                if obj.label == value - 1 and not obj.difficult:
                    x0, y0, x1, y1 = obj.box
                    covered[y0:y1 + 1, x0:x1 + 1] = True
            assert not ((mask == value) & ~covered).any()
        for obj in scene.objects:
            if not obj.difficult:
                x0, y0, x1, y1 = obj.box
                labelled += int((mask[y0:y1 + 1, x0:x1 + 1] == obj.label + 1).sum())
                visible += obj.area
        assert (mask == VOID).mean() < 0.25
    assert labelled > 0.5 * visible


def test_gluoncv_voc_segmentation_reads_the_demo_masks(demo_voc):
    """The VOC layout's VOC2012 part: GluonCV's reader finds both splits (its train split reads trainval.txt), the
    masks are palette PNGs in VOC's colours, and void reads back as -1."""
    devkit = os.path.join(demo_voc.root, "VOCdevkit")
    train = VOCSegmentation(root=devkit, split="train", mode="testval")
    val = VOCSegmentation(root=devkit, split="val", mode="testval")
    assert len(train) == len(val) == 12
    seen = set()
    for dataset, first in ((train, 0), (val, 12)):
        for index in range(len(dataset)):
            image, mask = dataset[index]
            mask = mask.asnumpy()
            assert image.shape[:2] == mask.shape
            seen |= set(np.unique(mask).astype(int))
        assert os.path.basename(dataset.images[0]) == "{:06d}.jpg".format(first)
    assert seen == {-1, 0, *range(1, len(CLASSES) + 1)}
    png = Image.open(train.masks[0])
    assert png.mode == "P" and png.getpalette()[3:9] == [128, 0, 0, 0, 128, 0]
    detection_image = os.path.join(devkit, "VOC2007", "JPEGImages", "000000.jpg")
    assert open(train.images[0], "rb").read() == open(detection_image, "rb").read()
