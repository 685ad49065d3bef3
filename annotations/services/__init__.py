"""Workflow services: check_* validates and locks, do_* writes and schedules follow-up work.

Views call these and stay thin; every access rule goes through annotations.access.
"""
