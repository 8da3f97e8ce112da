"""Reliability suite: the real system under faults and hostile input.

Every case drives the real parts (the embedded warehouse, the sample platform server,
the CLI, the DAGs) and ends by checking the invariants of docs/architecture.md: the ledger balances
(nothing lost, nothing counted twice; the helpers are in tests/ledger.py) and marts are
compared by checksum with another run of the same inputs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ledger import SAMPLE


@pytest.fixture
def good_export(tmp_path: Path) -> Path:
    """A good registry export (the sample, 62 records) in a delivery folder of its own."""
    folder = tmp_path / "landing"
    folder.mkdir()
    path = folder / "contracts_202401.csv"
    shutil.copy2(SAMPLE, path)
    return path
