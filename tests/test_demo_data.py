"""The demo generator (determinism, layouts, statistics) and the VOC/COCO loaders with their error paths."""
import filecmp
import json
import os
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from gluoncv.data import COCODetection, VOCDetection

from gluon_upgrade.data import layouts
from gluon_upgrade.data.datasets import COCOLayoutDetection, VOCLayoutDetection, detection_dataset
from gluon_upgrade.data.demo import make_demo_dataset
from gluon_upgrade.data.shapes import CLASSES
from gluon_upgrade.errors import DataError


def tree_files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


@pytest.mark.slow
def test_same_seed_same_bytes_whatever_the_workers(tmp_path):
    one = make_demo_dataset(str(tmp_path / "a"), "voc", train=8, test=6, size=64, seed=5, workers=1)
    two = make_demo_dataset(str(tmp_path / "b"), "voc", train=8, test=6, size=64, seed=5, workers=2)
    files = tree_files(one.root)
    assert files == tree_files(two.root) and len(files) == 4 * 14 + 4 + 2  # VOC2007 and VOC2012, 2 root files
    match, mismatch, errors = filecmp.cmpfiles(one.root, two.root, files, shallow=False)
    assert not mismatch and not errors
    other = make_demo_dataset(str(tmp_path / "c"), "voc", train=8, test=6, size=64, seed=6, workers=1)
    assert filecmp.cmpfiles(one.root, other.root, files, shallow=False)[1]


def test_voc_layout_boxes_inside_images_every_class_in_both_splits(demo_voc):
    year = os.path.join(demo_voc.root, "VOCdevkit", "VOC2007")
    for split, stats in zip(("trainval", "test"), demo_voc.splits):
        ids = open(os.path.join(year, "ImageSets", "Main", split + ".txt")).read().split()
        assert len(ids) == stats.images == 12
        names, difficult = [], 0
        for image_id in ids:
            root = ET.parse(os.path.join(year, "Annotations", image_id + ".xml")).getroot()
            width, height = int(root.findtext("size/width")), int(root.findtext("size/height"))
            assert os.path.isfile(os.path.join(year, "JPEGImages", image_id + ".jpg"))
            for obj in root.iter("object"):
                box = [int(obj.findtext("bndbox/" + t)) for t in ("xmin", "ymin", "xmax", "ymax")]
                assert 1 <= box[0] < box[2] <= width and 1 <= box[1] < box[3] <= height
                names.append(obj.findtext("name"))
                difficult += int(obj.findtext("difficult"))
        assert set(names) == set(CLASSES)
        assert difficult == stats.difficult and len(names) == sum(stats.objects.values())
    assert layouts.read_classes(layouts.voc_root(demo_voc.root)) == CLASSES


def test_gluoncv_voc_detection_reads_the_demo_set(demo_voc):
    class ShapesVOC(VOCDetection):
        CLASSES = CLASSES

    plain = ShapesVOC(root=os.path.join(demo_voc.root, "VOCdevkit"), splits=[(2007, "test")])
    ours = VOCLayoutDetection(demo_voc.root, ["2007/test"])
    assert len(plain) == len(ours) == 12 and ours.classes == CLASSES
    for index in range(len(ours)):
        np.testing.assert_array_equal(plain._label_cache[index], ours._label_cache[index])
    image, label = ours[0]
    assert image.shape[2] == 3 and label.shape[1] == 6


def test_coco_layout_loads_and_agrees_with_voc_labels(demo_voc, demo_coco):
    coco = COCOLayoutDetection(demo_coco.root, "val2017", skip_empty=False)
    voc = VOCLayoutDetection(demo_voc.root, ["2007/test"])
    assert isinstance(coco, COCODetection) and coco.classes == CLASSES and len(coco) == 12
    for index in range(len(coco)):
        np.testing.assert_allclose(np.array(coco._labels[index]), voc._label_cache[index][:, :5])
    document = json.load(open(layouts.coco_annotation_file(demo_coco.root, "train2017")))
    assert len(document["images"]) == 12 and {c["name"] for c in document["categories"]} == set(CLASSES)
    assert {a["category_id"] for a in document["annotations"]} == set(range(1, len(CLASSES) + 1))


def test_config_section_picks_format_root_and_splits(demo_coco):
    data = {"format": "coco", "root": demo_coco.root, "train_splits": None, "val_splits": None,
            "on_bad_annotation": "error", "num_workers": 0}
    assert len(detection_dataset(data, train=True)) == 12
    with pytest.raises(DataError, match="one split at a time"):
        detection_dataset(dict(data, val_splits=["val2017", "train2017"]), train=False)


def test_existing_set_is_not_overwritten_silently(demo_voc, tmp_path):
    with pytest.raises(DataError, match="already holds VOCdevkit.*overwrite"):
        make_demo_dataset(demo_voc.root, "voc", train=6, test=6, size=64)
    with pytest.raises(DataError, match="at least 6"):
        make_demo_dataset(str(tmp_path), "voc", train=5, test=6)
    with pytest.raises(DataError, match="unknown format 'yolo'"):
        make_demo_dataset(str(tmp_path), "yolo")


@pytest.fixture
def voc_copy(demo_voc, tmp_path):
    root = str(tmp_path / "voc")
    shutil.copytree(demo_voc.root, root)
    return root


def first_test_annotation(root):
    root = layouts.voc_root(root)
    image_id = open(layouts.voc_split_file(root, 2007, "test")).readline().strip()
    year = layouts.voc_year_dir(root, 2007)
    return layouts.voc_annotation_file(year, image_id), layouts.voc_image_file(year, image_id)


def edit_xml(path, edit):
    tree = ET.parse(path)
    edit(tree.getroot())
    tree.write(path)


@pytest.mark.parametrize("damage, message", [
    (lambda root: root.find("object/bndbox/xmax").__setattr__("text", "999"), "outside the"),
    (lambda root: root.find("object/name").__setattr__("text", "dog"), "class 'dog'"),
    (lambda root: root.find("object/bndbox").remove(root.find("object/bndbox/ymin")), "<bndbox/ymin> is missing"),
    (lambda root: [root.remove(o) for o in root.findall("object")], "no object"),
])
def test_bad_voc_annotation_names_the_file(voc_copy, damage, message):
    annotation, _ = first_test_annotation(voc_copy)
    edit_xml(annotation, damage)
    with pytest.raises(DataError, match=message) as err:
        VOCLayoutDetection(voc_copy, ["2007/test"])
    assert annotation in str(err.value)


def test_malformed_xml_and_missing_image_name_the_file(voc_copy):
    annotation, image = first_test_annotation(voc_copy)
    with open(annotation, "w") as handle:
        handle.write("<annotation><size>")
    with pytest.raises(DataError, match="malformed XML") as err:
        VOCLayoutDetection(voc_copy, ["2007/test"])
    assert annotation in str(err.value)
    os.remove(image)
    with pytest.raises(DataError, match="image is missing") as err:
        VOCLayoutDetection(voc_copy, ["2007/test"])
    assert image in str(err.value)


def test_skip_policy_counts_and_leaves_out_bad_images(voc_copy, caplog):
    annotation, _ = first_test_annotation(voc_copy)
    edit_xml(annotation, lambda root: root.find("object/bndbox/xmin").__setattr__("text", "-5"))
    dataset = VOCLayoutDetection(voc_copy, ["2007/test"], on_error="skip")
    assert len(dataset) == 11 and len(dataset.skipped) == 1 and annotation in dataset.skipped[0]
    assert "skipped 1 image(s)" in caplog.text


def test_missing_root_or_split_explains_layout_and_preparation(tmp_path, demo_voc):
    with pytest.raises(DataError, match="(?s)VOC<year>.*pascal_voc.py"):
        VOCLayoutDetection(str(tmp_path), ["2007/test"])
    with pytest.raises(DataError, match="ImageSets/Main/val.txt"):
        VOCLayoutDetection(demo_voc.root, ["2007/val"])
    with pytest.raises(DataError, match="YEAR/NAME"):
        VOCLayoutDetection(demo_voc.root, ["test"])
    with pytest.raises(DataError, match="(?s)instances_val2017.json.*mscoco.py"):
        COCOLayoutDetection(str(tmp_path), "val2017")


def test_voc_root_may_be_the_devkit_or_its_parent(demo_voc):
    devkit = os.path.join(demo_voc.root, "VOCdevkit")
    assert layouts.voc_root(demo_voc.root) == devkit and layouts.voc_root(devkit) == devkit
    assert len(VOCLayoutDetection(devkit, ["2007/trainval"])) == 12


@pytest.fixture
def coco_copy(demo_coco, tmp_path):
    root = str(tmp_path / "coco")
    shutil.copytree(demo_coco.root, root)
    return root


def edit_json(path, edit):
    document = json.load(open(path))
    edit(document)
    json.dump(document, open(path, "w"))


@pytest.mark.parametrize("damage, message", [
    (lambda d: d["annotations"][0].__setitem__("bbox", [90, 10, 40, 10]), "outside the"),
    (lambda d: d["annotations"][0].__setitem__("bbox", [1, 2, "x", 4]), "four finite numbers"),
    (lambda d: d["annotations"][0].__setitem__("category_id", 99), "category_id 99"),
    (lambda d: d["images"][0].__setitem__("file_name", "nowhere.jpg"), "nowhere.jpg: image is missing"),
])
def test_bad_coco_annotation_names_the_file(coco_copy, damage, message):
    path = layouts.coco_annotation_file(coco_copy, "val2017")
    edit_json(path, damage)
    with pytest.raises(DataError, match=message) as err:
        COCOLayoutDetection(coco_copy, "val2017")
    assert path in str(err.value)
    skipped = COCOLayoutDetection(coco_copy, "val2017", on_error="skip", skip_empty=False)
    assert len(skipped) == 11 and len(skipped.skipped) == 1


def test_coco_file_that_is_not_json_names_the_file(coco_copy):
    path = layouts.coco_annotation_file(coco_copy, "val2017")
    with open(path, "w") as handle:
        handle.write("{not json")
    with pytest.raises(DataError, match="not a COCO annotation file") as err:
        COCOLayoutDetection(coco_copy, "val2017")
    assert path in str(err.value)


@pytest.mark.slow
def test_make_demo_data_script_writes_set_and_report(tmp_path):
    import subprocess
    import sys
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "make_demo_data.py")
    command = [sys.executable, script, "--output", str(tmp_path / "d"), "--format", "coco", "--train", "6", "--test",
               "6", "--size", "48", "--deformation", "0.3", "--report", str(tmp_path / "stats.md")]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    report = (tmp_path / "stats.md").read_text()
    assert "--format coco" in report and "train2017" in report and "difficult" not in report
    assert len(os.listdir(tmp_path / "d" / "val2017")) == 6
    with open(tmp_path / "d" / "demo_stats.json") as f:
        assert json.load(f)["deformation"] == 0.3
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 2 and "already holds" in again.stderr and "Traceback" not in again.stderr


def test_deformation_zero_draws_true_circles_and_full_strength_stretches_them():
    """An ellipse's canonical shape is the unit disc: undeformed (only rotated and scaled) its box is square and
    its area pi r^2; at full strength the aspect range (0.45 to 2.2) must show in some box."""
    from gluon_upgrade.data.scenes import render_scene
    ellipse = CLASSES.index("ellipse")
    ratios = {}
    for strength in (0.0, 1.0):
        ratios[strength] = []
        for seed in range(8):
            top = render_scene(np.random.default_rng(seed), 96, 96, ellipse, deformation=strength).objects[-1]
            assert top.label == ellipse
            if top.truncated:
                continue
            width, height = top.box[2] - top.box[0] + 1, top.box[3] - top.box[1] + 1
            ratios[strength].append(min(width, height) / max(width, height))
            if strength == 0.0:
                assert abs(width - height) <= 2
                assert top.area == pytest.approx(np.pi * width * height / 4, rel=0.08)
    assert len(ratios[0.0]) >= 4 and min(ratios[1.0]) < 0.7


def test_deformation_outside_zero_to_one_is_refused(tmp_path):
    with pytest.raises(DataError, match="deformation=1.5"):
        make_demo_dataset(str(tmp_path), "voc", train=6, test=6, size=64, deformation=1.5)
    assert not os.listdir(tmp_path)


@pytest.mark.slow
def test_a_killed_regeneration_leaves_the_old_set_and_no_process_behind(tmp_path):
    """--overwrite writes the new set beside the old one and swaps them when complete: SIGKILL midway leaves the
    old set whole, its drawing workers end with it, and the next run cleans up and succeeds."""
    import signal
    import subprocess
    import sys
    import time
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "make_demo_data.py")
    out = str(tmp_path / "set")
    small = [sys.executable, script, "--output", out, "--train", "6", "--test", "6", "--size", "48", "--workers", "1"]
    assert subprocess.run(small, capture_output=True, text=True).returncode == 0

    def snapshot():
        return {os.path.relpath(os.path.join(folder, name), out): open(os.path.join(folder, name), "rb").read()
                for folder, _, names in os.walk(out) for name in names}

    before = snapshot()
    big = [sys.executable, script, "--output", out, "--train", "5000", "--test", "6", "--size", "160", "--workers", "2",
           "--overwrite"]
    process = subprocess.Popen(big, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not any(".partial-" in name for name in os.listdir(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2)
    assert process.poll() is None, "the generation ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert snapshot() == before

    def drawing():  # processes whose command line is the killed one's (forked workers keep it)
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/{}/cmdline".format(pid), "rb") as f:
                    if f.read().split(b"\0")[:-1] == [arg.encode() for arg in big]:
                        found.append(pid)
            except OSError:
                pass
        return found

    deadline = time.monotonic() + 10
    while drawing() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert drawing() == []
    again = small + ["--overwrite", "--seed", "1"]
    result = subprocess.run(again, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["set"]  # the partial folder is gone
    assert snapshot() != before and len(open(os.path.join(out, "VOCdevkit", "VOC2007", "ImageSets", "Main",
                                                           "trainval.txt")).read().split()) == 6


def test_overwrite_does_not_take_the_users_files_with_it(tmp_path):
    out = tmp_path / "set"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="holds files no demo set writes \\(notes.txt\\); --overwrite replaces"):
        make_demo_dataset(str(out), "voc", train=6, test=6, size=48, workers=1, overwrite=True)
    assert os.listdir(out) == ["notes.txt"]


def test_a_set_whose_replacement_was_killed_between_its_renames_comes_back(demo_voc, tmp_path):
    """_replace renames the old set aside, then the new one into place: killed in between, the next run puts the
    old one back before it writes."""
    import shutil
    out, aside = tmp_path / "set", tmp_path / ".set.old-999999999"
    shutil.copytree(demo_voc.root, str(aside))
    with pytest.raises(DataError, match="already holds"):
        make_demo_dataset(str(out), "voc", train=6, test=6, size=48, workers=1)
    assert sorted(os.listdir(tmp_path)) == ["set"]
    assert sorted(os.listdir(out)) == sorted(os.listdir(demo_voc.root))
