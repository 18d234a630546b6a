"""The report's error for bad input: its message says what is wrong and how to fix it."""

from __future__ import annotations


class ReportInputError(Exception):
    """A run folder, MongoDB URL or option the report cannot use; the CLI prints it and exits 2."""
