"""Lesion segmentation: masks from doctors' geometry, a MONAI U-Net, its metrics and inference.

Pure ML (no Django): the jobs hand in arrays and annotation payloads, and store what comes back.
"""
