"""Evaluating trained models: protocols, checkpoint selection, metric orchestration, results."""
