"""What every command-line entry point shares: gin parsing, clean failure."""

import sys

import gin

from flexae_tf import paths


def fail(error):
    """One clear line on stderr and exit status 2, not a traceback wall."""
    message = str(error).strip() or type(error).__name__
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def parse_gin(files, bindings):
    """Parses gin files and bindings (`include 'gin/x.gin'` from any cwd)."""
    gin.add_config_file_search_path(paths.REPO_ROOT)
    try:
        gin.parse_config_files_and_bindings(files, bindings)
    except (ValueError, IOError, SyntaxError, TypeError) as e:
        fail(f"Bad gin configuration: {str(e).strip().splitlines()[0]}")
