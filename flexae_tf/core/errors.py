"""The error type for bad input from a user (config, data, checkpoints).

Entry points catch `UserError` and print its message in one place instead
of a traceback; anything else is a bug and keeps its traceback.
"""


class UserError(ValueError):
    """Bad input; the message names what was wrong and how to fix it."""


def first_line(error):
    """The line an entry point prints for `error`.

    gin appends "  In call to configurable ..." lines to what a
    configurable raises; the first line says it all.
    """
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def check_positive(prefix, **values):
    """Raises UserError unless every value is a positive int."""
    for name, value in values.items():
        if not isinstance(value, int) or value < 1:
            raise UserError(
                f"{prefix}{name}={value!r}: must be a positive integer.")


def check_choice(name, value, choices):
    """Raises UserError unless value is one of choices; returns value."""
    if value not in choices:
        raise UserError(f"{name}={value!r}; expected one of {tuple(choices)}.")
    return value
