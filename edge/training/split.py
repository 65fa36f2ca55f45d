"""Train / validation / test split by recording or subject, never by window.

Windows overlap, so a window split leaks. Every window carries its clip's *subject*, the split key the
dataset adapters set (edge.training.clips.Clip.subject): the person when known (GMDCSA24: a subject-wise
split), else the recording; the same UR Fall recording seen through AlphaPose, MD4FD and the project's
own pose shares one subject, so it never lands on both sides.

The test set is fixed by a rule on the subject name (crc32, so it depends neither on the seed nor on
which other sources are present): GMDCSA24's `test_subject`, and of every other source the subjects with
crc32(subject) % TEST_FOLDS == fold. The validation set is a seeded random choice of the remaining subjects.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np

GMDCSA24 = "gmdcsa24"
TEST_FOLDS = 5


def _person(subject: str) -> str:
    """The first number in a subject name: 'gmdcsa24/Subject 2 (earlier release)' -> '2'."""
    digits = re.findall(r"\d+", subject.rsplit("/", 1)[-1])
    return digits[0] if digits else subject


def is_test_subject(source: str, subject: str, test_subject: str = "2", fold: int = 0) -> bool:
    """Whether a subject is held back for testing (module docstring)."""
    if source == GMDCSA24:
        return _person(subject) == _person(test_subject)
    return zlib.crc32(subject.encode()) % TEST_FOLDS == fold


@dataclass(frozen=True)
class Split:
    """Boolean masks (W,) over windows; no subject (so no clip) is in two of them."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def counts(self) -> dict[str, int]:
        return {"train": int(self.train.sum()), "val": int(self.val.sum()), "test": int(self.test.sum())}


def split_windows(
    sources: np.ndarray,
    subjects: np.ndarray,
    seed: int,
    val_fraction: float = 0.15,
    test_subject: str = "2",
    fold: int = 0,
    cross_source: str | None = None,
) -> Split:
    """Split windows by subject.

    sources, subjects: (W,) str per window. seed: chooses the validation subjects.
    val_fraction: the fraction of non-test subjects used for validation (at least one when > 0).
    test_subject / fold: which subjects are held back (is_test_subject).
    cross_source: a source name for the cross-source test: all of that source is the test set and
    nothing of it is trained on; every other subject is in train or validation.
    Raises ValueError when training would be empty.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    src = np.asarray(sources).astype(str)
    subj = np.asarray(subjects).astype(str)
    pairs = sorted(set(zip(src.tolist(), subj.tolist(), strict=True)))
    if cross_source is not None:
        if cross_source not in src:
            raise ValueError(f"split: cross-source test source {cross_source!r} has no windows")
        test = {s for source, s in pairs if source == cross_source}
    else:
        test = {s for source, s in pairs if is_test_subject(source, s, test_subject, fold)}
    pool = sorted({s for _, s in pairs} - test)
    n_val = max(1, round(val_fraction * len(pool))) if val_fraction > 0 and len(pool) > 1 else 0
    val = set(np.random.default_rng(seed).permutation(np.array(pool, dtype=object))[:n_val].tolist())
    train = set(pool) - val
    if not train:
        raise ValueError("split: no subject left for training")

    def member(chosen: set[str]) -> np.ndarray:
        return np.isin(subj, np.array(sorted(chosen), dtype=str))

    return Split(train=member(train), val=member(val), test=member(test))
