"""The one-machine run (`make run` / `make serve`): accounts, Redis, supervised processes."""
