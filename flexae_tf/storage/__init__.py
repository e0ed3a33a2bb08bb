"""What a run directory stores and how it is read back: checkpoints and `model.keras`."""
