"""Data: the generated demo set ("deformed shapes"), VOC/COCO layouts and loaders, GluonCV transforms."""
