"""Where PASCAL VOC and COCO keep their files, in one place for the writer, the loaders and their errors.

VOC: ``ROOT/VOC2007/{Annotations/ID.xml, JPEGImages/ID.jpg, ImageSets/Main/SPLIT.txt}`` (``ROOT`` may also be
the ``VOCdevkit`` folder's parent); its segmentation masks as GluonCV's ``VOCSegmentation`` reads them:
``ROOT/VOC2012/{SegmentationClass/ID.png, JPEGImages/ID.jpg, ImageSets/Segmentation/SPLIT.txt}``. COCO: ``ROOT/annotations/instances_SPLIT.json`` and ``ROOT/SPLIT/FILE``.
A ``classes.txt`` in ``ROOT`` (one name a line) gives a data set's own classes; without it a VOC root holds
the 20 VOC classes and a COCO root takes its classes from the annotation file. ADE20K (segmentation only):
``ROOT/ADEChallengeData2016/{images,annotations}/{training,validation}``.
"""
import os
import xml.etree.ElementTree as ET
from typing import Iterable, List, Optional, Sequence, Tuple

FORMATS = ("voc", "coco")
"""The two annotation layouts the demo set is written in (a VOC root also holds ``VOC2012``'s class masks)."""
DATA_FORMATS = FORMATS + ("voc_aug", "ade20k")
"""What a config reads: a detector those two; a segmenter all four: VOC 2012's masks, with SBD's for training
(``voc_aug``), COCO's instance masks of VOC's 20 classes (GluonCV's ``COCOSegmentation``, on which its VOC
segmenters pre-train), ADE20K."""
CLASSES_FILE = "classes.txt"

VOC_PREPARE = ("GluonCV's scripts/datasets/pascal_voc.py (python pascal_voc.py --download-dir ~/VOCdevkit) downloads "
               "VOC 2007+2012 and links them to ~/.mxnet/datasets/voc; python scripts/make_demo_data.py --output ROOT "
               "--format voc writes the demo set")
COCO_PREPARE = ("GluonCV's scripts/datasets/mscoco.py (python mscoco.py --download-dir ~/mscoco) downloads COCO 2017 "
                "and links it to ~/.mxnet/datasets/coco; python scripts/make_demo_data.py --output ROOT --format coco "
                "writes the demo set")
VOC_LAYOUT = "ROOT/VOC<year>/{Annotations/<id>.xml, JPEGImages/<id>.jpg, ImageSets/Main/<split>.txt}"
VOC_SEGMENTATION_LAYOUT = ("ROOT/VOC2012/{SegmentationClass/<id>.png, JPEGImages/<id>.jpg, "
                           "ImageSets/Segmentation/<trainval|val>.txt}")
VOC_AUG_LAYOUT = "ROOT/VOCaug/dataset/{img/<id>.jpg, cls/<id>.mat, trainval.txt} beside ROOT/VOC2012"
VOC_AUG_PREPARE = ("GluonCV's scripts/datasets/pascal_voc.py (python pascal_voc.py --download-dir ~/VOCdevkit) also "
                   "downloads SBD's augmented masks into ~/.mxnet/datasets/voc/VOCaug")
COCO_LAYOUT = "ROOT/annotations/instances_<split>.json and ROOT/<split>/<file_name>.jpg"
ADE20K_DIR = "ADEChallengeData2016"
ADE20K_LAYOUT = "ROOT/ADEChallengeData2016/{images,annotations}/{training,validation}/<id>.{jpg,png}"
ADE20K_PREPARE = ("GluonCV's scripts/datasets/ade20k.py (python ade20k.py) downloads the MIT Scene Parsing "
                  "benchmark's ADEChallengeData2016 to ~/.mxnet/datasets/ade")


def voc_root(root: str) -> str:
    """The folder holding ``VOC<year>``: ``root`` itself, or ``root/VOCdevkit`` when only that holds it."""
    root = os.path.expanduser(root)
    devkit = os.path.join(root, "VOCdevkit")
    if not any(name.startswith("VOC") and name != "VOCdevkit" for name in _listdir(root)) and os.path.isdir(devkit):
        return devkit
    return root


def voc_year_dir(root: str, year: int) -> str:
    """``ROOT/VOC<year>``."""
    return os.path.join(root, "VOC{}".format(year))


def voc_split_file(root: str, year: int, split: str) -> str:
    """The image-id list of a VOC split: ``ROOT/VOC<year>/ImageSets/Main/<split>.txt``."""
    return os.path.join(voc_year_dir(root, year), "ImageSets", "Main", split + ".txt")


def voc_annotation_file(year_dir: str, image_id: str) -> str:
    """``VOC<year>/Annotations/<id>.xml``."""
    return os.path.join(year_dir, "Annotations", image_id + ".xml")


def voc_image_file(year_dir: str, image_id: str) -> str:
    """``VOC<year>/JPEGImages/<id>.jpg``."""
    return os.path.join(year_dir, "JPEGImages", image_id + ".jpg")


def voc_mask_file(year_dir: str, image_id: str) -> str:
    """``VOC<year>/SegmentationClass/<id>.png``: the class of each pixel, a palette PNG."""
    return os.path.join(year_dir, "SegmentationClass", image_id + ".png")


def voc_segmentation_split_file(year_dir: str, split: str) -> str:
    """``VOC<year>/ImageSets/Segmentation/<split>.txt``: GluonCV's ``VOCSegmentation`` trains on ``trainval``
    and validates on ``val``."""
    return os.path.join(year_dir, "ImageSets", "Segmentation", split + ".txt")


def voc_aug_dir(root: str) -> str:
    """``ROOT/VOCaug/dataset``: SBD's images (``img/``), masks (``cls/<id>.mat``) and ``trainval.txt``, where
    GluonCV's ``VOCAugSegmentation`` reads them."""
    return os.path.join(root, "VOCaug", "dataset")


def voc_palette() -> List[int]:
    """VOC's colour map as a flat ``[r, g, b, ...]`` list of 256 colours (class 1 dark red, 255 light grey), what
    ``SegmentationClass`` PNGs carry: each class index's bits spread over the high bits of r, g and b."""
    palette = []
    for index in range(256):
        rgb, value = [0, 0, 0], index
        for bit in range(8):
            for channel in range(3):
                rgb[channel] |= ((value >> channel) & 1) << (7 - bit)
            value >>= 3
        palette += rgb
    return palette


def coco_annotation_file(root: str, split: str) -> str:
    """``ROOT/annotations/instances_<split>.json`` (``split`` like ``val2017``)."""
    return os.path.join(os.path.expanduser(root), "annotations", "instances_{}.json".format(split))


def coco_image_dir(root: str, split: str) -> str:
    """``ROOT/<split>``."""
    return os.path.join(os.path.expanduser(root), split)


def read_classes(root: str) -> Optional[Tuple[str, ...]]:
    """The class names in ``ROOT/classes.txt``, or None when the file does not exist."""
    path = os.path.join(os.path.expanduser(root), CLASSES_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return tuple(line.strip() for line in handle if line.strip())


def write_classes(root: str, classes: Sequence[str]) -> str:
    """Write ``ROOT/classes.txt``; returns its path."""
    path = os.path.join(root, CLASSES_FILE)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("".join(name + "\n" for name in classes))
    return path


def voc_annotation_xml(filename: str, width: int, height: int,
                       objects: Iterable[Tuple[str, Tuple[int, int, int, int], bool, bool]]) -> bytes:
    """A VOC annotation: ``objects`` are ``(name, (xmin, ymin, xmax, ymax), difficult, truncated)``.

    Boxes are 0-based inclusive pixel indices and are written 1-based, as VOC does (GluonCV subtracts 1).
    """
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "VOC2007"
    ET.SubElement(root, "filename").text = filename
    size = ET.SubElement(root, "size")
    for tag, value in (("width", width), ("height", height), ("depth", 3)):
        ET.SubElement(size, tag).text = str(value)
    ET.SubElement(root, "segmented").text = "0"
    for name, box, difficult, truncated in objects:
        node = ET.SubElement(root, "object")
        ET.SubElement(node, "name").text = name
        ET.SubElement(node, "pose").text = "Unspecified"
        ET.SubElement(node, "truncated").text = str(int(truncated))
        ET.SubElement(node, "difficult").text = str(int(difficult))
        bndbox = ET.SubElement(node, "bndbox")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), box):
            ET.SubElement(bndbox, tag).text = str(int(value) + 1)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8") + b"\n"


def _listdir(path: str) -> Sequence[str]:
    try:
        return os.listdir(path)
    except OSError:
        return ()
