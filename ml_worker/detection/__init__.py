"""Lesion detection: a MONAI RetinaNet trained on the doctors' boxes (decision 0360), its
evaluation (FROC and COCO mAP), pool scoring and box suggestions."""
