"""The training loop and everything it owns: callbacks, resume, the run lock, the strategy, compilation choices."""
