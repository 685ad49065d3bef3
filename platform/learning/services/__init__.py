"""Learning-loop services: runs (lifecycle, triggers, stale detection), registry, scoring."""
