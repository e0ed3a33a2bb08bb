"""The one progress line long work prints: position, speed and ETA."""

import time


def line(iteration, total, rate, logs=None, images_per_iteration=None,
         name=None):
    """`[name: ]iteration i/N (p%) | r it/s[, images/s] | ETA | k=v ...`."""
    eta = (total - iteration) / max(rate, 1e-9)
    speed = f"{rate:.2f} it/s"
    if images_per_iteration:
        speed += f", {rate * images_per_iteration:.0f} images/s"
    parts = [f"{name + ': ' if name else ''}iteration {iteration}/{total} "
             f"({100.0 * iteration / max(total, 1):.1f}%)", speed,
             f"ETA {time.strftime('%H:%M:%S', time.gmtime(eta))}"]
    if logs:
        parts.append(" ".join(f"{k}={v:.4g}" for k, v in logs.items()))
    return " | ".join(parts)
