"""The run's saved configuration (`operative_config.gin`) across versions."""

CONFIG_FILE = "operative_config.gin"

# Parameters earlier versions bound (every run's operative config lists
# them) that no longer exist; runs trained with them still load. Each was
# inert at the value an old run can hold: the buffer was ignored, the
# mask weight and the encoder mask were off unless set by hand.
RETIRED_BINDINGS = {
    "train_pipeline.shuffle_buffer": None,
    "FlexAE.mask_sparsity_weight": "0.0",
    "Encoder.latent_mask": "False",
    "VectorEncoder.latent_mask": "False",
}


def without_retired(text):
    """The config text minus retired bindings; one whose old value had an
    effect is an error (the run cannot be rebuilt by this version)."""
    kept = []
    for line in text.splitlines():
        name, _, value = line.partition(" = ")
        if name.strip() not in RETIRED_BINDINGS:
            kept.append(line)
            continue
        inert = RETIRED_BINDINGS[name.strip()]
        if inert is not None and value.strip() != inert:
            raise ValueError(
                f"{name.strip()} = {value.strip()} is no longer supported "
                "by this version of flexae_tf")
    return "\n".join(kept)
