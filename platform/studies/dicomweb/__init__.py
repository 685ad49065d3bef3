"""DICOMweb (DICOM PS3.18): QIDO-RS search, WADO-RS and WADO-URI retrieval, STOW-RS storage.

Views are thin (views.py, uri.py); the work lives in small modules: media (Accept negotiation),
multipart (PS3.18 §8.6.1.2 multipart/related bodies), scope (who may see what, under which root),
qido, metadata, frames, retrieve, rendering, stow, and upstream (proxy mode).
"""
