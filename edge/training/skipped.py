"""What a dataset build left out, and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Skipped:
    """One file or clip an adapter could not use.

    source: the adapter's name; item: the file or clip id; reason: one line naming the file.
    """

    source: str
    item: str
    reason: str

    def __str__(self) -> str:
        return f"skipped {self.item}: {self.reason}"
