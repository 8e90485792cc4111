"""VOC- and COCO-layout detection data sets through GluonCV's dataset classes, with checked annotations.

GluonCV's ``VOCDetection`` drops objects of unknown classes and invalid boxes with at most a log line, and
both classes fail on a bad file with errors that do not name it. The subclasses here take their class list
from the data set, check every annotation once when loading, and raise a ``DataError`` naming the file, or,
with ``on_error='skip'``, leave the image out and record why in ``skipped``.
"""
import contextlib
import hashlib
import io
import json
import logging
import math
import os
import xml.etree.ElementTree as ET
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
from gluoncv.data import COCODetection, VOCDetection
from gluoncv.utils.bbox import bbox_clip_xyxy, bbox_xywh_to_xyxy

from ..config.schema import Field
from ..errors import ConfigError, DataError, list_names
from ..paths import existing_path
from . import layouts

ON_ERROR = ("error", "skip")
DEFAULT_ROOTS = {"voc": "~/.mxnet/datasets/voc", "coco": "~/.mxnet/datasets/coco",
                 "voc_aug": "~/.mxnet/datasets/voc", "ade20k": "~/.mxnet/datasets/ade"}
DEFAULT_SPLITS = {
    "voc": {"train": ("2007/trainval", "2012/trainval"), "val": ("2007/test",)},
    "coco": {"train": ("train2017",), "val": ("val2017",)},
}
"""The paper's splits: VOC07+12 trainval / VOC07 test, COCO train2017 / val2017."""

FIELDS = {
    "format": Field("voc", "the annotation layout (segmentation only: voc_aug, VOC 2012 with SBD's training "
                           "masks; ade20k)", str, choices=layouts.DATA_FORMATS),
    "root": Field(None, "data set root (default ~/.mxnet/datasets/voc, .../coco or .../ade; a relative path: to "
                        "this file, else to the working folder or the repository)", str, nullable=True),
    "train_splits": Field(None, "VOC 'YEAR/NAME' or COCO 'train2017' (default: the paper's)", list, item=str,
                          nullable=True),
    "val_splits": Field(None, "VOC 'YEAR/NAME' or COCO 'val2017' (default: the paper's)", list, item=str,
                        nullable=True),
    "on_bad_annotation": Field("error", "'error' stops at a bad annotation or image file; 'skip' leaves the image "
                                        "out and counts it", str, choices=ON_ERROR),
    "num_workers": Field(0, "data-loading worker processes", int, minimum=0),
}
"""The ``data`` section of a config."""

log = logging.getLogger(__name__)


def parse_voc_split(split: str) -> Tuple[int, str]:
    """``'2007/test'`` -> ``(2007, 'test')``."""
    year, _, name = split.partition("/")
    if not (year.isdigit() and name):
        raise DataError("VOC split '{}' must read YEAR/NAME, e.g. 2007/test".format(split))
    return int(year), name


def parse_voc_annotation(path: str, classes: Sequence[str]) -> Tuple[int, int, np.ndarray]:
    """Read one VOC annotation, checking it.

    Returns
    -------
    width, height : int
    label : numpy.ndarray
        ``(N, 6)`` float rows ``xmin, ymin, xmax, ymax, class index, difficult``, 0-based pixel coordinates.

    Raises
    ------
    DataError
        Unreadable or malformed XML, a missing field, an unknown class, a box outside the image, no object.
    """
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise DataError("{}: annotation file is missing".format(path)) from None
    except (ET.ParseError, OSError) as err:
        raise DataError("{}: malformed XML ({})".format(path, err)) from None
    width = _xml_number(root, "size/width", path)
    height = _xml_number(root, "size/height", path)
    if width <= 0 or height <= 0:
        raise DataError("{}: image size {}x{} is not positive".format(path, width, height))
    rows = []
    for index, obj in enumerate(root.iter("object")):
        where = "{}: object {}".format(path, index + 1)
        name = (obj.findtext("name") or "").strip()
        if name not in classes:
            raise DataError("{} has class '{}', not one of this data set's classes:\n{}".format(
                where, name, list_names(classes)))
        difficult = obj.findtext("difficult")
        box = [_xml_number(obj, "bndbox/" + tag, where) - 1 for tag in ("xmin", "ymin", "xmax", "ymax")]
        # The bounds GluonCV's VOCDetection accepts, VOC's 1-based coordinates made 0-based.
        if not (0 <= box[0] < box[2] <= width and 0 <= box[1] < box[3] <= height):
            raise DataError("{}: box (xmin, ymin, xmax, ymax) = {} (1-based) is empty or outside the {}x{} "
                            "image".format(where, tuple(v + 1 for v in box), int(width), int(height)))
        rows.append(box + [classes.index(name), float(difficult.strip() == "1") if difficult else 0.0])
    if not rows:
        raise DataError("{}: no object; a detection image needs at least one".format(path))
    return int(width), int(height), np.array(rows, dtype=np.float32)


IMAGE_SIGNATURES = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG", b"BM": "BMP", b"GIF8": "GIF",
                    b"II*\x00": "TIFF", b"MM\x00*": "TIFF", b"RIFF": "WebP"}
"""The first bytes of the image formats OpenCV decodes (``mx.image.imread``)."""


def check_image(path: str) -> None:
    """Raise ``DataError`` naming ``path`` unless it is there and starts as an image file does.

    Every image of a split is checked this way when the split loads (a read of its first bytes): one damaged or
    empty file would otherwise stop training in a loader worker, with a stack trace that does not name it.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
    except FileNotFoundError:
        raise DataError("{}: image is missing".format(path)) from None
    except OSError as err:
        raise DataError("{}: image cannot be read ({})".format(path, err.strerror)) from None
    if not any(head.startswith(signature) for signature in IMAGE_SIGNATURES):
        raise DataError("{}: not an image file ({}; expected {})".format(
            path, "0 bytes" if not head else "starts with bytes {}".format(head[:4].hex(" ")),
            ", ".join(sorted(set(IMAGE_SIGNATURES.values())))))


def _xml_number(node: ET.Element, tag: str, where: str) -> float:
    text = node.findtext(tag)
    try:
        return float(text)
    except (TypeError, ValueError):
        raise DataError("{}: <{}> is {}".format(where, tag, "missing" if text is None else repr(text))) from None


class VOCLayoutDetection(VOCDetection):
    """GluonCV's ``VOCDetection`` for any VOC-layout root, with the root's own classes and checked labels.

    Parameters
    ----------
    root : str
        Folder holding ``VOC<year>`` (or a ``VOCdevkit`` folder that does).
    splits : sequence of str
        ``'YEAR/NAME'`` entries, e.g. ``('2007/trainval', '2012/trainval')``.
    classes : sequence of str, optional
        Default: ``ROOT/classes.txt`` if present, else the 20 VOC classes.
    transform : callable, optional
        GluonCV detection transform ``(img, label) -> ...``.
    on_error : {'error', 'skip'}
        What a bad annotation or a missing or damaged image does.
    """

    def __init__(self, root: str, splits: Sequence[str], classes: Optional[Sequence[str]] = None,
                 transform=None, on_error: str = "error"):
        root = layouts.voc_root(root)
        year_splits = [parse_voc_split(s) for s in splits]
        missing = [layouts.voc_split_file(root, y, n) for y, n in year_splits
                   if not os.path.isfile(layouts.voc_split_file(root, y, n))]
        if missing:
            raise DataError("no VOC split {} under {}: expected {}\n{}".format(
                ", ".join(missing), root, layouts.VOC_LAYOUT, layouts.VOC_PREPARE))
        self._classes = tuple(classes or layouts.read_classes(root) or VOCDetection.CLASSES)
        super().__init__(root=root, splits=year_splits, transform=transform, preload_label=False)
        self.skipped: List[str] = []
        items, labels = [], []
        for year_dir, image_id in self._items:
            try:
                check_image(layouts.voc_image_file(year_dir, image_id))
                width, height, label = parse_voc_annotation(
                    layouts.voc_annotation_file(year_dir, image_id), self._classes)
            except DataError as err:
                _handle(err, on_error, self.skipped)
                continue
            self._im_shapes[len(items)] = (width, height)
            items.append((year_dir, image_id))
            labels.append(label)
        self._items, self._label_cache = items, labels
        _report_skipped(self, self.skipped)

    @property
    def classes(self) -> Tuple[str, ...]:
        """Category names, in label order."""
        return self._classes

    def annotations(self) -> Iterator[Tuple[str, np.ndarray]]:
        """``(name, label)`` per image in order: ``VOC2007/000001`` and its ``(N, 6)`` rows."""
        for (year_dir, image_id), label in zip(self._items, self._label_cache):
            yield "{}/{}".format(os.path.basename(year_dir), image_id), label


class COCOLayoutDetection(COCODetection):
    """GluonCV's ``COCODetection`` for any COCO-layout root, with the file's own classes and checked labels.

    Parameters
    ----------
    root : str
        Folder holding ``annotations/instances_<split>.json`` and ``<split>/``.
    split : str
        ``'train2017'``, ``'val2017'``, ...
    classes : sequence of str, optional
        Expected category names in id order; default: those of the annotation file.
    transform : callable, optional
        GluonCV detection transform.
    on_error : {'error', 'skip'}
        What a bad annotation or a missing or damaged image does.
    skip_empty : bool
        Leave out images without objects (training); otherwise they get one row of -1 (GluonCV's convention).
    """

    def __init__(self, root: str, split: str, classes: Optional[Sequence[str]] = None, transform=None,
                 on_error: str = "error", skip_empty: bool = True):
        annotation = layouts.coco_annotation_file(root, split)
        if not os.path.isfile(annotation):
            raise DataError("no COCO split {}: expected {}\n{}".format(
                annotation, layouts.COCO_LAYOUT, layouts.COCO_PREPARE))
        self._classes = tuple(classes) if classes else None
        self._image_dir = layouts.coco_image_dir(root, split)
        self._on_error = on_error
        self.skipped: List[str] = []
        self.image_ids: List[int] = []
        super().__init__(root=root, splits=["instances_" + split], transform=transform, skip_empty=skip_empty)
        self.index_map = {name: i for i, name in enumerate(self._classes)}
        _report_skipped(self, self.skipped)

    @property
    def classes(self) -> Tuple[str, ...]:
        """Category names, in label order (ascending category id); empty until the annotation file is read."""
        return self._classes or ()

    def annotations(self) -> Iterator[Tuple[str, np.ndarray]]:
        """``(name, label)`` per image in order: the file name under the split's folder and its ``(N, 5)`` rows."""
        for image, label in zip(self._items, self._labels):
            yield os.path.basename(image), np.asarray(label)

    def _load_jsons(self):
        from pycocotools.coco import COCO
        path = os.path.join(self._root, self.annotation_dir, self._splits[0]) + ".json"
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                coco = COCO(path)
            categories = coco.loadCats(sorted(coco.getCatIds()))
            names = tuple(c["name"] for c in categories)
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            message = err.msg if isinstance(err, json.JSONDecodeError) else repr(err)
            raise DataError("{}: not a COCO annotation file ({})".format(path, message)) from None
        if self._classes is not None and names != self._classes:
            raise DataError("{}: categories {} differ from the expected classes {}".format(
                path, list(names), list(self._classes)))
        self._classes = names
        self._coco.append(coco)
        self.json_id_to_contiguous = {c["id"]: i for i, c in enumerate(categories)}
        self.contiguous_id_to_json = {i: c for c, i in self.json_id_to_contiguous.items()}
        items, labels, ratios = [], [], []
        for entry in coco.loadImgs(sorted(coco.getImgIds())):
            try:
                image, label = self._checked_entry(coco, entry, path)
            except DataError as err:
                _handle(err, self._on_error, self.skipped)
                continue
            if not label:
                if self._skip_empty:
                    continue
                label = [[-1, -1, -1, -1, -1]]
            items.append(image)
            labels.append(label)
            ratios.append(entry["width"] / entry["height"])
            self.image_ids.append(entry["id"])
        return items, labels, ratios

    def _checked_entry(self, coco, entry: dict, path: str) -> Tuple[str, List[List[float]]]:
        where = "{}: image id {}".format(path, entry.get("id"))
        try:
            image = os.path.join(self._image_dir, entry["file_name"])
            width, height = float(entry["width"]), float(entry["height"])
        except (KeyError, TypeError, ValueError):
            raise DataError("{} lacks file_name, width or height".format(where)) from None
        if not os.path.isfile(image):
            raise DataError("{}: image is missing (listed in {})".format(image, path))
        check_image(image)
        label = []
        for obj in coco.loadAnns(coco.getAnnIds(imgIds=[entry["id"]], iscrowd=None)):
            what = "{}, annotation id {}".format(where, obj.get("id"))
            if obj.get("category_id") not in self.json_id_to_contiguous:
                raise DataError("{}: category_id {!r} is not among the file's categories {}".format(
                    what, obj.get("category_id"), sorted(self.json_id_to_contiguous)))
            bbox = obj.get("bbox")
            if not (isinstance(bbox, list) and len(bbox) == 4
                    and all(isinstance(v, (int, float)) and math.isfinite(v) for v in bbox)):
                raise DataError("{}: bbox {!r} is not four finite numbers [x, y, w, h]".format(what, bbox))
            x, y, w, h = bbox
            # COCO's float boxes may overhang the image by rounding; more than a pixel is an error.
            if w <= 0 or h <= 0 or x < -1 or y < -1 or x + w > width + 1 or y + h > height + 1:
                raise DataError("{}: bbox [x, y, w, h] = {} is empty or outside the {}x{} image".format(
                    what, bbox, int(width), int(height)))
            if obj.get("ignore", 0) == 1 or obj.get("area", 1) <= self._min_object_area:
                continue
            xmin, ymin, xmax, ymax = bbox_clip_xyxy(bbox_xywh_to_xyxy(bbox), width, height)
            if xmax > xmin and ymax > ymin:
                label.append([xmin, ymin, xmax, ymax, self.json_id_to_contiguous[obj["category_id"]]])
        return image, label


def _handle(err: DataError, on_error: str, skipped: List[str]) -> None:
    if on_error == "error":
        raise err
    skipped.append(str(err))


def _report_skipped(dataset, skipped: Sequence[str]) -> None:
    if skipped:
        log.warning("%s: skipped %d image(s) with bad annotations or image files, e.g.\n%s", dataset, len(skipped),
                    "\n".join(skipped[:5]))


def dataset_fingerprint(dataset: Union["VOCLayoutDetection", "COCOLayoutDetection"]) -> Dict[str, object]:
    """What a data set holds, independent of where it lies: its image count, classes, and a SHA-256 over every
    image's name and boxes (a segmentation set's class masks; float32) in order.

    A resumed run compares it to the one it started with, so moving a data set is allowed and training on another
    one (another split list, or the same names with other boxes) is not.
    """
    digest = hashlib.sha256()
    count = 0
    for name, label in dataset.annotations():
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(np.ascontiguousarray(label, dtype=np.float32).tobytes())
        count += 1
    return {"images": count, "classes": list(dataset.classes), "sha256": digest.hexdigest()}


def data_root(data: dict) -> str:
    """The folder a config's ``data`` section names: ``data.root`` (found as the config loader found it), else
    GluonCV's default for the layout."""
    return existing_path(os.path.expanduser(data["root"] or DEFAULT_ROOTS[data["format"]]))


def detection_dataset(data: dict, train: bool):
    """The training or validation set a config's ``data`` section names.

    Parameters
    ----------
    data : dict
        A validated ``data`` config section (``FIELDS``).
    train : bool
        The training splits (COCO: images without objects left out) or the validation splits.

    Returns
    -------
    VOCLayoutDetection or COCOLayoutDetection

    Raises
    ------
    ConfigError
        A layout of class masks only (``voc_aug``, ``ade20k``), which has no boxes.
    """
    fmt = data["format"]
    if fmt not in layouts.FORMATS:
        raise ConfigError("data.format {} holds class masks and no boxes; boxes are read from {}".format(
            fmt, " or ".join(layouts.FORMATS)))
    root = data_root(data)
    key = "train" if train else "val"
    splits = data[key + "_splits"] or DEFAULT_SPLITS[fmt][key]
    if fmt == "voc":
        return VOCLayoutDetection(root, splits, on_error=data["on_bad_annotation"])
    if len(splits) != 1:
        raise DataError("data.{}_splits: a COCO data set is read one split at a time, got {}".format(
            key, list(splits)))
    return COCOLayoutDetection(root, splits[0], on_error=data["on_bad_annotation"], skip_empty=train)
