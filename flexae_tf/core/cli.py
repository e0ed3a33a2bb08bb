"""What every command-line entry point shares: flags, gin parsing, clean
failure."""

import os
import re
import sys
import tokenize

from absl import app
from absl import flags
import gin

from flexae_tf.core import errors
from flexae_tf.core import paths

# What gin raises for a bad file or binding: a syntax error inside a
# bracket surfaces from Python's tokenizer as tokenize.TokenError.
GIN_ERRORS = (ValueError, IOError, SyntaxError, TypeError,
              tokenize.TokenError)


def fail(error):
    """One clear line on stderr and exit status 2, not a traceback wall."""
    message = str(error).strip() or type(error).__name__
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def parse_flags(argv):
    """absl's flag parsing, but a bad flag is one `error:` line, exit 2.

    absl's own parser prints two lines and exits 1, unlike every other
    bad input of these programs.
    """
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        fail(f"{e} (--helpfull lists the flags).")


def run(main):
    """`app.run(main)` with one-line flag errors: each entry point's run()."""
    app.run(main, flags_parser=parse_flags)


def default_model_dir(gin_files):
    """`runs/<sheet>+<sheet>...`: every gin file named, in order.

    Naming only the first sheet sent `mnist.gin + wae_gan.gin` into the
    FlexAE-SR run of `mnist.gin` alone; naming all of them keeps runs of
    different sheet combinations apart. `--gin_param` bindings are not in
    the name: runs that differ only by them need their own --model_dir.
    """
    names = []
    for path in gin_files:
        name = os.path.splitext(os.path.basename(path))[0]
        if name not in names:
            names.append(name)
    return os.path.join("runs", "+".join(names))


def add_gin_search_paths():
    """Lets `include 'gin/x.gin'`, `gin/x.gin` and `x.gin` resolve anywhere.

    gin resolves file names against its search paths (the working
    directory first), not against the including file.
    """
    root = paths.gin_root()
    # gin has no getter for its search paths; adding one twice is harmless
    # but grows the list on every load.
    known = gin.config._LOCATION_PREFIXES  # pylint: disable=protected-access
    for path in (root, os.path.join(root, "gin")):
        if path not in known:
            gin.add_config_file_search_path(path)


def load_gin(files, bindings):
    """Replaces the gin config with `files` then `bindings`.

    `include 'gin/x.gin'` works from any cwd, and a sheet shipped with the
    package is found by its name (`mnist.gin`) or path (`gin/mnist.gin`).

    Raises:
      errors.UserError: a file or binding is bad.
    """
    gin.clear_config()
    add_gin_search_paths()
    try:
        gin.parse_config_files_and_bindings(list(files), list(bindings))
    except GIN_ERRORS as e:
        raise errors.UserError(
            f"Bad gin configuration: {_first_line(e)}") from e


def _first_line(error):
    if isinstance(error, tokenize.TokenError):  # args: (message, (row, col))
        return (f"{error.args[0]}; an unclosed bracket or quote in a gin "
                "file or binding?")
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else type(error).__name__
    macro = re.search(r"No bindings specified for '(\w+)/gin\.macro'", first)
    if macro:
        # Model sheets use macros (LATENT_DIM, ...) that dataset sheets set.
        return (f"%{macro.group(1)} is not set: add a dataset sheet before "
                "the model sheet, e.g. --gin_file=gin/mnist.gin (or "
                "fashion_mnist.gin, cifar10.gin, celeba.gin) first.")
    return first.rstrip(":")


def parse_gin(files, bindings):
    """`load_gin` for a command line: a bad config ends the program."""
    try:
        load_gin(files, bindings)
    except errors.UserError as e:
        fail(e)
