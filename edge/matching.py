"""Greedy one-to-one matching: the tracker's people-to-tracks and the pose decoder's limb pairs.

    pairs = greedy_pairs(iou, iou >= 0.1)  # best score first
    pairs = greedy_pairs(distance, distance <= 0.5, descending=False)  # nearest first

Greedy, as OpenPose links limbs: the best pair first, not the assignment with the best total (the two
differ only where taking the best pair blocks two pairs that are better together).
"""

from __future__ import annotations

import numpy as np


def greedy_pairs(score: np.ndarray, allowed: np.ndarray, descending: bool = True) -> list[tuple[int, int]]:
    """Pairs (row, col) of a 2-D `score`, best first, each row and column used once, only where
    `allowed` (a NaN score is never allowed). Ties go in row-major order."""
    rows, cols = np.nonzero(allowed & ~np.isnan(score))
    values = score[rows, cols]
    order = np.argsort(-values if descending else values, kind="stable")
    used_r: set[int] = set()
    used_c: set[int] = set()
    pairs = []
    for r, c in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
        if r not in used_r and c not in used_c:
            used_r.add(r)
            used_c.add(c)
            pairs.append((r, c))
    return pairs


__all__ = ["greedy_pairs"]
