"""COCO's and ADE20K's segmentation layouts, read through GluonCV's readers from files written here by hand: the
class masks against hand-drawn ones, the images GluonCV keeps, the classes a network must score, and the errors
of a missing or incomplete data set."""
import json

import mxnet as mx
import numpy as np
import pytest
from PIL import Image

from gluon_upgrade.config.loader import load_config
from gluon_upgrade.data.segmentation import segmentation_dataset
from gluon_upgrade.errors import ConfigError, DataError
from gluon_upgrade.evaluation.segmentation import evaluate_segmenter
from gluon_upgrade.models.build import build_network
from gluon_upgrade.models.demo_fcn import DEMO_FCN

SIZE = 40


def _data(root, format):
    return {"format": format, "root": str(root), "train_splits": None, "val_splits": None}


def _write_ade(root, masks, part="training"):
    """ADEChallengeData2016's layout: a grey image and the mask (0 unlabelled, 1-150 ADE's classes) per id."""
    images = root / "ADEChallengeData2016" / "images" / part
    annotations = root / "ADEChallengeData2016" / "annotations" / part
    images.mkdir(parents=True, exist_ok=True)
    annotations.mkdir(parents=True, exist_ok=True)
    for image_id, mask in masks.items():
        Image.fromarray(np.full(mask.shape + (3,), 100, np.uint8)).save(images / (image_id + ".jpg"))
        Image.fromarray(mask).save(annotations / (image_id + ".png"))


def test_ade20k_masks_read_as_its_150_classes_with_unlabelled_void(tmp_path):
    rng = np.random.RandomState(0)
    masks = {i: rng.randint(0, 151, size=(24, 32)).astype(np.uint8) for i in ("ADE_val_3", "ADE_val_1", "ADE_val_2")}
    _write_ade(tmp_path, masks, "validation")
    data = segmentation_dataset(_data(tmp_path, "ade20k"), 16, train=False)
    assert [name for name, _ in data.annotations()] == ["ADE_val_1.jpg", "ADE_val_2.jpg", "ADE_val_3.jpg"]
    assert data.num_class == 150 and data.scored_classes[:3] == ("wall", "building, edifice", "sky")
    assert data.scored_classes[-1] == "flag" and len(data.classes) == 149
    data.mode = "testval"  # the image and mask as they are
    for index, image_id in enumerate(sorted(masks)):
        image, mask = data[index]
        assert image.shape == (3, 24, 32)
        np.testing.assert_array_equal(mask.asnumpy(), masks[image_id].astype(np.int32) - 1)  # 0 (unlabelled) -> -1
    ade = build_network({"name": "fcn_resnet50_ade", "data_shape": 32, "pretrained": False, "pretrained_base": False,
                         "weights": None, "mode": "baseline", "upgrade": {}}, data.classes, [mx.cpu()])
    assert ade.nclass == 150
    with pytest.raises(ConfigError, match="fcn_resnet50_voc scores 21 classes; the data has 150"):
        build_network({"name": "fcn_resnet50_voc", "data_shape": 32, "pretrained": False, "pretrained_base": False,
                       "weights": None, "mode": "baseline", "upgrade": {}}, data.classes, [mx.cpu()])


def test_an_ade20k_segmenter_is_scored_per_ade_class_in_channel_order(tmp_path):
    _write_ade(tmp_path, {"ADE_val_1": np.full((SIZE, SIZE), 3, np.uint8)}, "validation")
    data = segmentation_dataset(_data(tmp_path, "ade20k"), 32, train=False)
    mx.random.seed(0)
    net = build_network({"name": DEMO_FCN, "data_shape": 32, "pretrained": False, "pretrained_base": False,
                         "weights": None, "mode": "baseline"}, data.classes, [mx.cpu()])
    result = evaluate_segmenter(net, data, batch_size=1, progress=False)
    from gluoncv.data import ADE20KSegmentation
    assert list(result.per_class) == list(ADE20KSegmentation.CLASSES)


def test_an_ade20k_image_without_its_mask_or_folder_is_an_error(tmp_path):
    with pytest.raises(DataError, match=r"ADEChallengeData2016/images/training; the layout is ROOT/"
                                        r"ADEChallengeData2016/.*ade20k.py"):
        segmentation_dataset(_data(tmp_path, "ade20k"), 16, train=True)
    _write_ade(tmp_path, {"ADE_train_1": np.ones((8, 8), np.uint8), "ADE_train_2": np.ones((8, 8), np.uint8)})
    (tmp_path / "ADEChallengeData2016" / "annotations" / "training" / "ADE_train_2.png").unlink()
    with pytest.raises(DataError, match=r"ADE_train_2.jpg has no mask .*annotations/training/ADE_train_2.png"):
        segmentation_dataset(_data(tmp_path, "ade20k"), 16, train=True)


def _rle(mask):
    """COCO's uncompressed run-length encoding of a binary mask (column-major runs, starting with zeros)."""
    flat = mask.flatten(order="F")
    runs, value, count = [], 0, 0
    for pixel in flat:
        if pixel != value:
            runs.append(count)
            value, count = pixel, 0
        count += 1
    runs.append(count)
    return {"counts": runs, "size": list(mask.shape)}


def _box(top, left, bottom, right):
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[top:bottom, left:right] = 1
    return mask


def test_coco_instances_of_vocs_classes_become_class_masks(tmp_path):
    """COCO category 1 (person) is VOC class 15, 5 (airplane) class 1, 13 (stop sign) none of VOC's: background.
    Where instances overlap the first one listed keeps its pixels, as GluonCV draws them."""
    person, airplane, stop_sign = _box(0, 0, 30, 40), _box(20, 10, 40, 30), _box(30, 0, 40, 10)
    small = _box(0, 0, 10, 10)  # 100 object pixels: GluonCV keeps only images with more than 1,000
    images = [{"id": 1, "file_name": "000001.jpg", "height": SIZE, "width": SIZE},
              {"id": 2, "file_name": "000002.jpg", "height": SIZE, "width": SIZE}]
    annotations = [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": _rle(person), "iscrowd": 1},
                   {"id": 2, "image_id": 1, "category_id": 5, "segmentation": _rle(airplane), "iscrowd": 1},
                   {"id": 3, "image_id": 1, "category_id": 13, "segmentation": _rle(stop_sign), "iscrowd": 1},
                   {"id": 4, "image_id": 2, "category_id": 5, "segmentation": _rle(small), "iscrowd": 1}]
    categories = [{"id": i, "name": name} for i, name in ((1, "person"), (5, "airplane"), (13, "stop sign"))]
    (tmp_path / "annotations").mkdir()
    (tmp_path / "val2017").mkdir()
    for image in images:
        Image.fromarray(np.full((SIZE, SIZE, 3), 90, np.uint8)).save(tmp_path / "val2017" / image["file_name"])
    with open(tmp_path / "annotations" / "instances_val2017.json", "w") as f:
        json.dump({"images": images, "annotations": annotations, "categories": categories}, f)
    data = segmentation_dataset(_data(tmp_path, "coco"), 32, train=False)
    assert len(data) == 1 and (tmp_path / "annotations" / "val_ids.mx").exists()  # GluonCV's list of kept ids
    assert data.scored_classes[0] == "background" and data.num_class == 21
    assert data.classes[0] == "airplane" and data.classes[14] == "person"
    expected = np.zeros((SIZE, SIZE), np.int32)
    expected[person == 1] = 15
    expected[(airplane == 1) & (person == 0)] = 1
    data.mode = "testval"
    np.testing.assert_array_equal(data[0][1].asnumpy(), expected)
    names = [name for name, _ in data.annotations()]
    again = [digest.tolist() for _, digest in segmentation_dataset(_data(tmp_path, "coco"), 32, train=False)
             .annotations()]
    assert names == ["000001.jpg"] and again == [digest.tolist() for _, digest in data.annotations()]


def test_a_missing_coco_annotation_file_says_how_to_prepare_coco(tmp_path):
    with pytest.raises(DataError, match=r"annotations/instances_train2017.json; the layout is ROOT/annotations/"
                                        r".*mscoco.py"):
        segmentation_dataset(_data(tmp_path, "coco"), 16, train=True)


def test_segmenters_read_coco_and_ade20k_and_detectors_refuse_ade20k(tmp_path):
    config = tmp_path / "c.yaml"
    for format in ("coco", "ade20k"):
        config.write_text("model: {name: deeplab_resnet101_voc}\ndata: {format: %s}\n" % format)
        assert load_config(str(config))["data"]["format"] == format
    config.write_text("model: {name: ssd_128_resnet29_v1_demo}\ndata: {format: ade20k}\n")
    with pytest.raises(ConfigError, match=r"ssd_128_resnet29_v1_demo is a detector: it reads boxes, voc or coco "
                                          r"\(got ade20k"):
        load_config(str(config))


def test_a_layout_without_boxes_is_refused_where_boxes_are_read(tmp_path):
    from gluon_upgrade.data.datasets import detection_dataset
    for format in ("voc_aug", "ade20k"):
        with pytest.raises(ConfigError, match="data.format {} holds class masks and no boxes; boxes are read from "
                                              "voc or coco".format(format)):
            detection_dataset(_data(tmp_path, format), train=False)
