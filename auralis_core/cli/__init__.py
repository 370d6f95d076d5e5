"""The ``auralis`` command line."""
