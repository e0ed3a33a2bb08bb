"""Plumbing every layer uses: errors, paths, the command line, gin registrations, image summaries, precision."""
