"""The bundled demo data set, "deformed shapes", written in the real VOC or COCO layout.

Every image is drawn from a random generator seeded by ``(seed, split, index)`` alone, so the same arguments
give the same bytes whatever the number of worker processes.
"""
import ctypes
import json
import os
import shutil
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
from PIL import Image

from ..errors import DataError
from ..reporting.files import write_json
from . import layouts
from .scenes import DEFORMATION_STRENGTH, SceneObject, render_scene
from .shapes import CLASSES

DEMO_DEFAULTS = {"train": 2000, "test": 300, "size": 160, "seed": 0, "deformation": DEFORMATION_STRENGTH}
"""The default demo set: image counts of the two splits, longer image side in pixels, seed, deformation
strength."""
SPLITS = {"voc": ("trainval", "test"), "coco": ("train2017", "val2017")}
"""The names the training and the test split get in each layout."""
SEGMENTATION_SPLITS = {"trainval": "trainval", "test": "val"}
"""The VOC layout's segmentation split lists, by detection split: GluonCV's ``VOCSegmentation`` trains on
``trainval`` and validates on ``val``; they hold the same images as the detection splits."""
DEMO_FILES = {"VOCdevkit", "annotations", *SPLITS["coco"], layouts.CLASSES_FILE, "demo_stats.json"}
"""What a demo set's root holds, in either layout."""
PR_SET_PDEATHSIG = 1
"""Linux's prctl option: a signal for this process when its parent ends (``<linux/prctl.h>``)."""
JPEG_QUALITY = 92
SHORT_SIDE_RANGE = (0.75, 1.0)
"""An image's shorter side, as a fraction of its longer side ``size``."""


@dataclass
class SplitStats:
    """What one split of the generated set holds."""

    name: str
    images: int = 0
    objects: Dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))
    difficult: int = 0
    truncated: int = 0

    def add(self, objects: List[SceneObject]) -> None:
        """Count one image's objects."""
        self.images += 1
        for obj in objects:
            self.objects[obj.name] += 1
        self.difficult += sum(obj.difficult for obj in objects)
        self.truncated += sum(obj.truncated for obj in objects)


@dataclass
class DemoDataset:
    """A generated demo set: where it is, its classes, and what each split holds."""

    root: str
    format: str
    classes: Tuple[str, ...]
    splits: List[SplitStats]
    deformation: float = DEFORMATION_STRENGTH

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return {"root": self.root, "format": self.format, "classes": list(self.classes),
                "deformation": self.deformation, "splits": [vars(s) for s in self.splits]}

    def format_table(self) -> str:
        """Images, objects per class, truncated and (VOC) difficult objects, one column per split."""
        from ..reporting.tables import text_table
        rows = [["images"] + [str(s.images) for s in self.splits]]
        rows += [[name] + [str(s.objects.get(name, 0)) for s in self.splits] for name in self.classes]
        rows += [["objects"] + [str(sum(s.objects.values())) for s in self.splits],
                 ["truncated"] + [str(s.truncated) for s in self.splits]]
        if self.format == "voc":
            rows.append(["difficult"] + [str(s.difficult) for s in self.splits])
        return text_table(["", *(s.name for s in self.splits)], rows)


def make_demo_dataset(out: str, format: str = "voc", train: int = DEMO_DEFAULTS["train"],
                      test: int = DEMO_DEFAULTS["test"], size: int = DEMO_DEFAULTS["size"],
                      seed: int = DEMO_DEFAULTS["seed"], workers: Optional[int] = None,
                      overwrite: bool = False, deformation: float = DEMO_DEFAULTS["deformation"]) -> DemoDataset:
    """Generate the "deformed shapes" detection set in the VOC or COCO layout.

    Parameters
    ----------
    out : str
        Folder to write; it becomes the data set's root (``out/VOCdevkit/VOC2007/...``, as in VOC's archives, or
        ``out/annotations/...``).
    format : {'voc', 'coco'}
        VOC: ``trainval`` and ``test`` splits of ``VOC2007`` with ``difficult`` flags, and the same images' class
        masks in ``VOC2012`` (``trainval`` and ``val``, for GluonCV's ``VOCSegmentation``; ``scenes.class_mask``).
        COCO: ``train2017`` and ``val2017``, boxes only.
    train, test : int
        Images in the training and the test split (each at least ``len(CLASSES)``, so both hold every class).
    size : int
        Longer image side in pixels (at least 32); the shorter side is 0.75-1.0 of it.
    seed : int
        Same seed, same files.
    workers : int, optional
        Processes drawing images (default: every core); 1 draws in this process, without forking it (a large
        process forks slowly). The output does not depend on it.
    overwrite : bool
        Replace a demo set already in ``out``.
    deformation : float
        How strongly shapes are sheared, stretched, waved and bent, 0 (only rotated and scaled) to 1 (the full
        ranges); the demo's 0.6 is tuned to its CPU recipe (``scenes.DEFORMATION_STRENGTH``).

    Returns
    -------
    DemoDataset
        The root and per-split statistics (also written to ``out/demo_stats.json``).
    """
    if format not in layouts.FORMATS:
        raise DataError("unknown format '{}'; valid: {}".format(format, ", ".join(layouts.FORMATS)))
    for name, count in (("train", train), ("test", test)):
        if count < len(CLASSES):
            raise DataError("{}={} images: need at least {} so that every class is in the split".format(
                name, count, len(CLASSES)))
    if size < 32:
        raise DataError("size={}: images need at least 32 pixels a side".format(size))
    if not 0.0 <= deformation <= 1.0:
        raise DataError("deformation={}: a strength from 0 (none) to 1 (the full ranges)".format(deformation))
    # Written beside ``out`` and renamed into place when complete: a crash or a kill leaves the old set as it
    # was, and the next run deletes the partial folder.
    partial = _partial_folder(out)
    _require_replaceable(out, overwrite)
    try:
        dataset = _write(partial, format, train, test, size, seed, workers, deformation)
        _replace(out, partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return DemoDataset(root=out, format=format, classes=CLASSES, splits=dataset.splits, deformation=deformation)


def _write(out: str, format: str, train: int, test: int, size: int, seed: int, workers: Optional[int],
           deformation: float) -> DemoDataset:
    if format == "voc":
        devkit = os.path.join(out, "VOCdevkit")
        os.makedirs(devkit)
        layouts.write_classes(devkit, CLASSES)
        writer = _VOCWriter(devkit)
    else:
        os.makedirs(out)
        layouts.write_classes(out, CLASSES)
        writer = _COCOWriter(out)
    stats = []
    offset = 0
    workers = workers or os.cpu_count() or 1
    with ExitStack() as stack:
        if workers > 1:
            pool = ProcessPoolExecutor(max_workers=workers, initializer=_die_with, initargs=(os.getpid(),))
            draw = partial(stack.enter_context(pool).map, _draw, chunksize=16)
        else:
            draw = partial(map, _draw)
        for split_index, (split, count) in enumerate(zip(SPLITS[format], (train, test))):
            split_stats = SplitStats(split)
            jobs = [(seed, split_index, i, size, deformation) for i in range(count)]
            for i, (jpeg, width, height, objects, mask) in enumerate(draw(jobs)):
                writer.add(split, offset + i, jpeg, width, height, objects, mask)
                split_stats.add(objects)
            writer.finish_split(split)
            stats.append(split_stats)
            offset += count
    dataset = DemoDataset(root=out, format=format, classes=CLASSES, splits=stats, deformation=deformation)
    write_json(os.path.join(out, "demo_stats.json"), {k: v for k, v in dataset.to_dict().items() if k != "root"})
    return dataset


def _die_with(parent: int) -> None:
    """A drawing worker's start: end with the process that started it (Linux), even when that one is killed,
    instead of waiting on its task queue for ever; the other workers keep that queue open."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _draw(job: Tuple[int, int, int, int, float]) -> Tuple[bytes, int, int, List[SceneObject], np.ndarray]:
    seed, split_index, index, size, deformation = job
    rng = np.random.default_rng([seed, split_index, index])
    short = int(round(size * rng.uniform(*SHORT_SIDE_RANGE)))
    width, height = (size, short) if rng.random() < 0.5 else (short, size)
    scene = render_scene(rng, width, height, first_label=index % len(CLASSES), deformation=deformation)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    assert ok, "OpenCV could not encode a JPEG"
    return jpeg.tobytes(), width, height, scene.objects, scene.mask


def _require_replaceable(out: str, overwrite: bool) -> None:
    """``out`` is new or empty, or holds a demo set and ``overwrite`` is set: a folder holding anything else is
    not replaced, so that ``--overwrite`` cannot take files of the user's with it."""
    present = sorted(os.listdir(out)) if os.path.isdir(out) else []
    if not present:
        return
    if not overwrite:
        raise DataError("{} already holds {}; pass overwrite=True (--overwrite) to replace it".format(
            out, ", ".join(present)))
    foreign = [name for name in present if name not in DEMO_FILES]
    if foreign:
        raise DataError("{} holds files no demo set writes ({}); --overwrite replaces the whole folder, so give an "
                        "empty or new folder".format(out, ", ".join(foreign)))


def _partial_folder(out: str) -> str:
    """``.NAME.partial-PID`` beside ``out``. Those of processes no longer running are deleted. A ``.NAME.old-PID``
    of one (a set being replaced when its process was killed between the two renames of ``_replace``) goes back
    to ``out`` if ``out`` is missing, and is deleted otherwise."""
    parent, name = os.path.split(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    partial, old = ".{}.partial-".format(name), ".{}.old-".format(name)
    for entry in sorted(os.listdir(parent)):
        for prefix in (partial, old):
            if not entry.startswith(prefix) or _running(entry[len(prefix):]):
                continue
            if prefix == old and not os.path.exists(out):
                os.rename(os.path.join(parent, entry), out)
            else:
                shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)
    return os.path.join(parent, partial + str(os.getpid()))


def _running(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _replace(out: str, complete: str) -> None:
    """Put the folder ``complete`` in the place of ``out`` by renames (the old one, if any, is deleted after)."""
    if not os.path.exists(out):
        os.rename(complete, out)
        return
    old = complete.replace(".partial-", ".old-")
    os.rename(out, old)
    os.rename(complete, out)
    shutil.rmtree(old)


class _VOCWriter:
    """Writes ``VOC2007``: one XML and one JPEG per image, one id list per split; and ``VOC2012``, where GluonCV's
    ``VOCSegmentation`` looks: the same JPEGs (hard links where the file system allows), one class-mask PNG per
    image, one id list per split."""

    def __init__(self, out: str):
        self.year_dir = layouts.voc_year_dir(out, 2007)
        for sub in ("Annotations", "JPEGImages", os.path.join("ImageSets", "Main")):
            os.makedirs(os.path.join(self.year_dir, sub))
        self.segmentation_dir = layouts.voc_year_dir(out, 2012)
        for sub in ("SegmentationClass", "JPEGImages", os.path.join("ImageSets", "Segmentation")):
            os.makedirs(os.path.join(self.segmentation_dir, sub))
        self.palette = layouts.voc_palette()
        self.ids: List[str] = []

    def add(self, split: str, index: int, jpeg: bytes, width: int, height: int,
            objects: List[SceneObject], mask: np.ndarray) -> None:
        image_id = "{:06d}".format(index)
        image = layouts.voc_image_file(self.year_dir, image_id)
        with open(image, "wb") as handle:
            handle.write(jpeg)
        xml = layouts.voc_annotation_xml(image_id + ".jpg", width, height,
                                         [(o.name, o.box, o.difficult, o.truncated) for o in objects])
        with open(layouts.voc_annotation_file(self.year_dir, image_id), "wb") as handle:
            handle.write(xml)
        _link_or_copy(image, layouts.voc_image_file(self.segmentation_dir, image_id))
        png = Image.fromarray(mask, mode="P")
        png.putpalette(self.palette)
        png.save(layouts.voc_mask_file(self.segmentation_dir, image_id))
        self.ids.append(image_id)

    def finish_split(self, split: str) -> None:
        listing = "".join(i + "\n" for i in self.ids)
        with open(os.path.join(self.year_dir, "ImageSets", "Main", split + ".txt"), "w") as handle:
            handle.write(listing)
        with open(layouts.voc_segmentation_split_file(self.segmentation_dir, SEGMENTATION_SPLITS[split]), "w") as f:
            f.write(listing)
        self.ids = []


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copyfile(source, target)


class _COCOWriter:
    """Writes ``annotations/instances_<split>.json`` and ``<split>/<id>.jpg``."""

    def __init__(self, out: str):
        self.out = out
        os.makedirs(os.path.join(out, "annotations"))
        self.images: List[dict] = []
        self.annotations: List[dict] = []

    def add(self, split: str, index: int, jpeg: bytes, width: int, height: int,
            objects: List[SceneObject], mask: np.ndarray) -> None:
        image_id = index + 1
        file_name = "{:012d}.jpg".format(image_id)
        image_dir = layouts.coco_image_dir(self.out, split)
        os.makedirs(image_dir, exist_ok=True)
        with open(os.path.join(image_dir, file_name), "wb") as handle:
            handle.write(jpeg)
        self.images.append({"id": image_id, "file_name": file_name, "width": width, "height": height})
        for obj in objects:
            xmin, ymin, xmax, ymax = obj.box
            # COCO's width counts pixels: an inclusive box [xmin, xmax] is xmax - xmin + 1 wide.
            self.annotations.append({
                "id": len(self.annotations) + 1, "image_id": image_id, "category_id": obj.label + 1,
                "bbox": [xmin, ymin, xmax - xmin + 1, ymax - ymin + 1], "area": obj.area, "iscrowd": 0})

    def finish_split(self, split: str) -> None:
        document = {
            "info": {"description": "gluon-upgrade demo data: deformed shapes", "version": "1.0"},
            "licenses": [],
            "images": self.images,
            "annotations": self.annotations,
            "categories": [{"id": i + 1, "name": name, "supercategory": "shape"} for i, name in enumerate(CLASSES)],
        }
        with open(layouts.coco_annotation_file(self.out, split), "w", encoding="utf-8") as handle:
            json.dump(document, handle)
        self.images, self.annotations = [], []
