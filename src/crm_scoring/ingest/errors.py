"""The one exception the loader raises for input it cannot accept."""

from __future__ import annotations


class IngestError(Exception):
    """A landing file (or folder) that fails the contract as a whole.

    The message always names the file and the problem, and the line when it is known, because it
    ends up in the Airflow task log and is all an operator has to go on.
    """
