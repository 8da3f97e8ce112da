"""The tooling's commands of the ``ttw`` command line: ``ttw generate``, ``ttw platform serve``,
``ttw bench ...`` and ``ttw demo``.

``ttw.cli`` adds them through the entry point group ``ttw.commands`` (tools/pyproject.toml),
so the runtime package never imports this one.
"""

from __future__ import annotations

import typer

from ttw_dev.cli import bench, demo, samples


def register(app: typer.Typer) -> None:
    """Add the tooling's commands to the root ``ttw`` app."""
    app.add_typer(samples.commands)
    app.add_typer(demo.commands)
    app.add_typer(bench.app, name="bench")
    app.add_typer(samples.platform_app, name="platform")
