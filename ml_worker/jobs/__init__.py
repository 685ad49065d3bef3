"""Django-aware glue between the registry rows and the pure ML modules (docs/decisions/0900).

Only ml_worker.tasks imports these; they load rows and pixels, call the pure functions in
ml_worker.*, and write the outcome back through learning.services.
"""
