"""What every command-line entry point shares: gin parsing, clean failure."""

import sys

import gin

from flexae_tf import errors
from flexae_tf import paths


def fail(error):
    """One clear line on stderr and exit status 2, not a traceback wall."""
    message = str(error).strip() or type(error).__name__
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def load_gin(files, bindings):
    """Replaces the gin config with `files` then `bindings`.

    `include 'gin/x.gin'` works from any cwd.

    Raises:
      errors.UserError: a file or binding is bad.
    """
    gin.clear_config()
    gin.add_config_file_search_path(paths.REPO_ROOT)
    try:
        gin.parse_config_files_and_bindings(list(files), list(bindings))
    except (ValueError, IOError, SyntaxError, TypeError) as e:
        raise errors.UserError(
            f"Bad gin configuration: {str(e).strip().splitlines()[0]}") from e


def parse_gin(files, bindings):
    """`load_gin` for a command line: a bad config ends the program."""
    try:
        load_gin(files, bindings)
    except errors.UserError as e:
        fail(e)
