"""`python -m ttw.cli`: the ``ttw`` command line."""

from ttw.cli import main

main()
