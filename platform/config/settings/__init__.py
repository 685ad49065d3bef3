"""Settings layers: base (local defaults from the environment), test, production."""
