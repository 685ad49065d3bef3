"""Celery tasks (tasks.py, the only modules here that touch Django) and pure torch/numpy code."""
