"""Versioned, de-identified labelled datasets: snapshots, format writers, export jobs."""
