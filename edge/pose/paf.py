"""trt_pose's part maps and part-affinity fields -> people, in numpy (no torch, no C++ plugins).

    counts, objects, peaks = decode(cmap, paf)   # cmap (18, H, W), paf (42, H, W) for one image
    skeletons = Skeletons.from_trt_pose(counts, objects, peaks, aspect)

The same five steps as trt_pose's ParseObjects (its parse/*.cpp), with its defaults:
1. peaks: cells >= `cmap_threshold` that no cell in the `window` x `window` square around them
   exceeds (non-maximum suppression), in row-major order, at most `max_parts` per part; of equal
   maxima within one window only the first counts (trt_pose keeps both: a doubled part);
2. refined to sub-cell positions by the part map's weighted mean over the same window (edges
   reflected) and normalised to [0, 1] as (y, x), cell centres at (i + 0.5) / H;
3. each limb's score per candidate pair: the PAF sampled at `samples` points on the segment (cells
   by truncation, points off the map skipped), dotted with the segment's unit vector, averaged;
4. per limb, pairs taken by descending score while both ends are free and the score exceeds
   `link_threshold` (greedy, as OpenPose does; trt_pose solves the same assignment with Munkres,
   which differs only when one peak is claimed by several near-equal pairs);
5. people: connected parts, visited part by part and peak by peak, each component one person.

Limb k of TOPOLOGY uses PAF channels 2k (the y component) and 2k + 1 (x), as trt_pose's
coco_category_to_topology numbers them.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from edge.matching import greedy_pairs
from edge.skeleton import EDGES, NUM_KEYPOINTS

#: trt_pose's human_pose.json skeleton, 0-based (part a, part b) per limb, in PAF channel order.
TOPOLOGY: tuple[tuple[int, int], ...] = EDGES
NUM_LINKS = len(TOPOLOGY)


def find_peaks(cmap: np.ndarray, threshold: float, window: int, max_parts: int) -> list[np.ndarray]:
    """Per part, the (i, j) cells that are local maxima >= threshold; each an (n, 2) int array."""
    half = window // 2
    padded = np.pad(cmap, ((0, 0), (half, half), (half, half)), constant_values=-np.inf)
    local_max = sliding_window_view(padded, (window, window), axis=(1, 2)).max(axis=(-2, -1))
    found = (cmap >= threshold) & (cmap >= local_max)
    return [_first_of_ties(np.argwhere(part), half)[:max_parts] for part in found]


def _first_of_ties(cells: np.ndarray, half: int) -> np.ndarray:
    """Drop a cell that ties with an earlier kept one within the window (FP16 maps tie often): one peak per blob."""
    kept: list[np.ndarray] = []
    for cell in cells:
        if not any(np.abs(cell - k).max() <= half for k in kept):
            kept.append(cell)
    return np.array(kept, dtype=np.int64).reshape(-1, 2)


def refine_peaks(cmap: np.ndarray, peaks: np.ndarray, window: int) -> np.ndarray:
    """Sub-cell (y, x) in [0, 1] for one part's (n, 2) peaks: the map-weighted mean over the window."""
    height, width = cmap.shape
    half = window // 2
    padded = np.pad(cmap, half, mode="reflect")  # trt_pose's reflect(): -1 -> 1, H -> H - 2
    offsets = np.arange(-half, half + 1)
    out = np.zeros((len(peaks), 2), dtype=np.float32)
    for n, (i, j) in enumerate(peaks):
        weights = padded[i : i + window, j : j + window]
        total = weights.sum()
        out[n, 0] = (weights.sum(axis=1) @ (i + offsets) / total + 0.5) / height
        out[n, 1] = (weights.sum(axis=0) @ (j + offsets) / total + 0.5) / width
    return out


def limb_scores(paf_y: np.ndarray, paf_x: np.ndarray, a: np.ndarray, b: np.ndarray, samples: int) -> np.ndarray:
    """(len(a), len(b)) line integrals of the field (paf_y, paf_x) from each peak in `a` to each in `b`."""
    height, width = paf_y.shape
    scale = np.array([height, width], dtype=np.float32)
    pa, pb = a[:, None, :] * scale, b[None, :, :] * scale  # (A, 1, 2), (1, B, 2) in cells
    delta = pb - pa
    unit = delta / (np.linalg.norm(delta, axis=-1, keepdims=True) + 1e-5)
    t = np.linspace(0.0, 1.0, samples, dtype=np.float32)[:, None, None, None]
    points = np.trunc(pa + t * delta).astype(np.int64)  # (S, A, B, 2), like C's (int) cast
    inside = (points[..., 0] >= 0) & (points[..., 0] < height) & (points[..., 1] >= 0) & (points[..., 1] < width)
    i, j = np.clip(points[..., 0], 0, height - 1), np.clip(points[..., 1], 0, width - 1)
    dot = paf_y[i, j] * unit[..., 0] + paf_x[i, j] * unit[..., 1]
    return np.where(inside, dot, 0.0).sum(axis=0) / samples


def connect(links: list[list[tuple[int, int]]], counts: list[int], max_people: int) -> np.ndarray:
    """(people, 18) peak index per part (-1: not found): the connected components of the limb graph."""
    neighbours: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for (part_a, part_b), pairs in zip(TOPOLOGY, links, strict=True):
        for a, b in pairs:
            neighbours.setdefault((part_a, a), []).append((part_b, b))
            neighbours.setdefault((part_b, b), []).append((part_a, a))
    visited: set[tuple[int, int]] = set()
    people: list[np.ndarray] = []
    for part, count in enumerate(counts):
        for peak in range(count):
            if len(people) >= max_people:
                break
            if (part, peak) in visited:
                continue
            person = np.full(NUM_KEYPOINTS, -1, dtype=np.int32)
            queue = [(part, peak)]
            while queue:
                node = queue.pop(0)
                if node in visited:
                    continue
                visited.add(node)
                person[node[0]] = node[1]
                queue.extend(neighbours.get(node, []))
            people.append(person)
    return np.array(people, dtype=np.int32).reshape(-1, NUM_KEYPOINTS)


def decode(
    cmap: np.ndarray,
    paf: np.ndarray,
    cmap_threshold: float = 0.1,
    link_threshold: float = 0.1,
    window: int = 5,
    samples: int = 7,
    max_parts: int = 100,
    max_people: int = 100,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's maps -> trt_pose ParseObjects' (counts (1,), objects (1, P, 18), peaks (1, 18, M, 2)).

    cmap: (18, H, W) part maps; paf: (42, H, W) fields (a leading batch axis of 1 is dropped).
    Raises ValueError naming the shapes when they do not fit the 18-part, 21-limb topology.
    """
    cmap = np.asarray(cmap, dtype=np.float32).reshape(np.shape(cmap)[-3:])
    paf = np.asarray(paf, dtype=np.float32).reshape(np.shape(paf)[-3:])
    if cmap.shape[0] != NUM_KEYPOINTS or paf.shape != (2 * NUM_LINKS, *cmap.shape[1:]):
        raise ValueError(f"expected part maps (18, H, W) and fields (42, H, W), got {cmap.shape} and {paf.shape}")
    cells = find_peaks(cmap, cmap_threshold, window, max_parts)
    refined = [refine_peaks(cmap[c], cells[c], window) for c in range(NUM_KEYPOINTS)]
    links = []
    for k, (a, b) in enumerate(TOPOLOGY):
        scores = limb_scores(paf[2 * k], paf[2 * k + 1], refined[a], refined[b], samples)
        links.append(greedy_pairs(scores, scores > link_threshold))
    counts = [len(r) for r in refined]
    objects = connect(links, counts, max_people)
    peaks = np.zeros((1, NUM_KEYPOINTS, max_parts, 2), dtype=np.float32)
    for c, r in enumerate(refined):
        peaks[0, c, : len(r)] = r
    padded = np.full((1, max_people, NUM_KEYPOINTS), -1, dtype=np.int32)
    padded[0, : len(objects)] = objects
    return np.array([len(objects)], dtype=np.int32), padded, peaks
