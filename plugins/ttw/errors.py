"""The one exception type for errors a user can cause (bad file, bad URL, missing column)."""


class TTWError(Exception):
    """A problem with the user's input or environment; the message says what and where.

    The CLI prints the message without a traceback and exits non-zero. ``rule`` names the
    kind of problem where a rejected delivery is kept in ``ops.load_rejects`` under it (the
    loader's default when none is given).
    """

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule


class Refusal(TTWError):
    """A stage refused on purpose (another build holds marts_build, the build failed or is
    not audited, its audit failed): trying again changes nothing until someone acts, so the
    DAGs fail without retries. Any other :class:`TTWError` there (a lost connection) is retried."""
