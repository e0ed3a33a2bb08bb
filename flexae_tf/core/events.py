"""The one TensorBoard event reader: resume trims event files with it,
reports read learning curves and wall times with it."""

import os

from absl import logging
import tensorflow as tf

from tensorflow.core.util import event_pb2


def event_files(log_dir):
    """The event files of log_dir, in name (so time) order."""
    if not tf.io.gfile.isdir(log_dir):
        return []
    return sorted(os.path.join(log_dir, name)
                  for name in tf.io.gfile.listdir(log_dir)
                  if "tfevents" in name and not name.endswith(".tmp")
                  and not name.startswith("."))


def read_events(path):
    """The events of one event file; a truncated tail (a writer killed
    mid-record) is dropped with a warning."""
    events = []
    try:
        for record in tf.data.TFRecordDataset(path):
            events.append(event_pb2.Event.FromString(record.numpy()))
    except tf.errors.OpError:
        logging.warning("Dropped the truncated tail of %s.", path)
    return events


def all_events(log_dir):
    """Every event of log_dir, file by file."""
    for path in event_files(log_dir):
        yield from read_events(path)


def read_scalars(log_dir, tag):
    """{step: value} of one scalar of log_dir.

    A step written twice (a resumed run) keeps its last value.
    """
    values = {}
    for event in all_events(log_dir):
        for value in event.summary.value:
            if value.tag == tag:
                values[int(event.step)] = float(
                    tf.make_ndarray(value.tensor)
                    if value.HasField("tensor") else value.simple_value)
    return values


def event_span(log_dir):
    """Seconds from the first to the last event in log_dir (0 if none)."""
    times = [event.wall_time for event in all_events(log_dir)]
    return max(times) - min(times) if times else 0.0
