"""One exception type for every user-facing failure, so the CLI can print one line and exit 1."""


class GamutError(Exception):
    """A problem with the user's input or environment, phrased for a one-line error message."""
