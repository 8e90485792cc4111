"""The paper's reported numbers, the one place results tables take them from (see ``shared/PAPER_FACTS.md``).

mAP values are percentages. Table III is VOC07 test mAP@0.5; Table IV is COCO val2017 mAP@[.5:.95] / @.5 / @.75.
"F" is the base model before the upgrade, "T" after the upgrade and fine-tune; "gluon" rows start from GluonCV's
model-zoo weights, "authors" rows from the paper's own baselines.
"""

TABLE1 = (
    {"layers": "none", "deeplab_miou": 69.7, "faster_rcnn_map": 78.1},
    {"layers": "res5c", "deeplab_miou": 73.9, "faster_rcnn_map": 78.6},
    {"layers": "res5b,c", "deeplab_miou": 74.8, "faster_rcnn_map": 78.5},
    {"layers": "res5a,b,c", "deeplab_miou": 75.2, "faster_rcnn_map": 78.6},
    {"layers": "res5a,b,c + res4b20,21,22", "deeplab_miou": 74.8, "faster_rcnn_map": 78.7},
)
"""Table I (from Dai et al., ResNet-101): deformable layers against VOC DeepLab mIoU and Faster R-CNN mAP@0.5."""

TABLE2 = (
    {"experiment": "baseline", "epochs": 240, "decays": (160, 200), "map": 80.1},
    {"experiment": "dcn_scratch", "epochs": 240, "decays": (160, 200), "map": 80.9},
    {"experiment": "upgrade", "epochs": 60, "decays": (40, 50), "map": 81.0},
)
"""Table II: SSD512-ResNet-50 on VOC07 test, mAP@0.5."""

TABLE3 = {
    "ssd512_resnet50": {"gluon": (80.1, 80.9), "authors": (79.9, 80.8)},
    "yolo3_320_darknet53": {"gluon": (79.3, 80.0), "authors": (79.2, 80.1)},
    "yolo3_416_darknet53": {"gluon": (81.5, 82.0), "authors": (81.6, 82.0)},
}
"""Table III: (F, T) VOC07 test mAP@0.5 per model and base."""

TABLE4 = {
    "ssd512_resnet50": {"gluon": ((30.6, 50.0, 32.2), (30.8, 50.4, 32.5)),
                        "authors": ((30.5, 50.0, 32.1), (30.9, 50.5, 32.6))},
    "yolo3_320_darknet53": {"gluon": ((33.6, 54.1, 35.8), (34.0, 54.9, 36.2)),
                            "authors": ((33.5, 54.1, 35.9), (33.8, 54.2, 36.2))},
    "yolo3_416_darknet53": {"gluon": ((36.0, 57.2, 38.7), (36.9, 58.2, 39.1)),
                            "authors": ((36.0, 57.1, 38.8), (36.9, 58.3, 39.1))},
    "yolo3_608_darknet53": {"gluon": ((37.0, 58.2, 40.1), (37.6, 59.1, 41.0))},
}
"""Table IV: (F, T) COCO val2017 (mAP@[.5:.95], mAP@.5, mAP@.75) per model and base."""
