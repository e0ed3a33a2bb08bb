"""Constants shared by test modules (fixtures live in conftest.py)."""

# Narrow networks for unit tests of single models; bindings a model does
# not use are inert.
SMALL_NETWORKS = """
Encoder.filters = (4, 8)
Encoder.dense_units = 16
Decoder.filters = (8, 4)
Decoder.dense_units = 16
PriorGenerator.hidden_units = 16
LatentCritic.hidden_units = 16
ImageCritic.filters = (4, 8)
ImageCritic.dense_units = 16
FlowPrior.hidden_units = 16
"""
