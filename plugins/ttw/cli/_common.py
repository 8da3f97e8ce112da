"""What every command module of the ``ttw`` command line shares: the settings, the consoles and
the handling of errors.

User errors (:class:`ttw.errors.TTWError`) print one clear line and exit 1, without a
traceback. Console markup is off: file names, header cells and every other text that comes
from outside print exactly as they are; the few styled labels escape what they frame.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from ttw.errors import TTWError

# Heavy packages (pandas, openpyxl, great_expectations, airflow, dbt, psycopg, pydantic's
# settings) are imported inside the commands that use them, so `ttw ... --help` and a
# command's start do not pay for them (`python -X importtime -m ttw.cli --help`).


def get_settings():
    """The project settings (:func:`ttw.settings.get_settings`), imported when first asked for."""
    from ttw.settings import get_settings as settings

    return settings()


def disable_telemetry() -> None:
    from ttw.settings import disable_telemetry as disable

    disable()


# markup and emoji codes off: file names and cell values print as they are
out = Console(markup=False, emoji=False)
err = Console(stderr=True, markup=False, emoji=False)


def labelled(console: Console, label: str, text: str) -> None:
    """One line: ``label`` as console markup (a style), then ``text`` exactly as it is."""
    console.print(f"{label} {escape(text)}", markup=True, highlight=False, soft_wrap=True)


def run(app: typer.Typer) -> None:
    """Run ``app``: a user error or a database refusal prints one line and exits 1."""
    disable_telemetry()
    try:
        app()
    except TTWError as exc:
        labelled(err, "[red]error:[/red]", str(exc))
        sys.exit(1)
    except Exception as exc:
        psycopg = sys.modules.get("psycopg")  # not imported: the error is not a database's
        if psycopg is None or not isinstance(exc, psycopg.Error):
            raise
        # a database refusal (permissions, lost connection) is the user's to act on: one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        labelled(err, "[red]database error:[/red]", first)
        sys.exit(1)
