"""The one exception type for errors a user can cause (bad file, bad URL, missing column)."""


class TTWError(Exception):
    """A problem with the user's input or environment; the message says what and where.

    The CLI prints the message without a traceback and exits non-zero.
    """
