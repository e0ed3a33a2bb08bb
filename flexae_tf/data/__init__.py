"""Image data sets: offline IDX files, TFDS, and the input pipelines."""
