"""Honest evaluation of window probabilities: per-class precision/recall, window F1 per source, and the
clip-level numbers that matter for people (falls detected, false detections, detection delay).

Window truth with partial labels:
- set accuracy: the predicted class (argmax) is one of the window's allowed classes.
- per-class precision/recall and the confusion matrix use the *definite* windows only (exactly one
  allowed class); how many windows that is is reported beside them.
- fall F1: positive = a window allowed only `fall`, negative = a window that does not allow fall;
  windows allowing fall and something else (a GMDCSA24 "Falling" segment: fall or lie; an unlabelled
  window) are left out. Predicted positive = argmax is fall.

Clip-level window rule (alarm_times), a stand-in on the dataset's windows alone: an alarm is raised at
the end time of the window that completes ALARM_CONSECUTIVE consecutive windows with p(fall) >=
ALARM_THRESHOLD; it re-arms once p(fall) drops below the threshold. A fall clip counts as detected
when it alarms no earlier than ONSET_TOLERANCE_S before the labelled onset; delay = that alarm time -
onset. Alarms earlier than that in a fall clip, and every alarm in a daily-activity clip, are false alarms.

The product's own alarm (edge.events.FallEvents in the pipeline: tracker, trunk drop, upright trunk,
confirm_s, recover_s) is scored the same way by clip_events / events_report, from the events of a clip
replayed through the whole pipeline after pose (edge.training.replay).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from edge.classes import CLASSES, FALL, NUM_CLASSES

if TYPE_CHECKING:
    from edge.events import Event

ALARM_THRESHOLD = 0.5
ALARM_CONSECUTIVE = 2
ONSET_TOLERANCE_S = 0.5


def alarm_times(
    end_s: np.ndarray, p_fall: np.ndarray, threshold: float = ALARM_THRESHOLD, consecutive: int = ALARM_CONSECUTIVE
) -> list[float]:
    """The alarms of one clip under the decision rule (module docstring): one per run of at least
    `consecutive` windows with p(fall) >= threshold, at the end time of the run's `consecutive`-th window.

    end_s: (W,) window end times; p_fall: (W,) fall probabilities, any order (sorted here by end_s).
    """
    order = np.argsort(end_s, kind="stable")
    alarms, run = [], 0
    for t, p in zip(np.asarray(end_s)[order], np.asarray(p_fall)[order], strict=True):
        run = run + 1 if p >= threshold else 0
        if run == consecutive:
            alarms.append(float(t))
    return alarms


def clip_report(
    clips: np.ndarray,
    end_s: np.ndarray,
    fall_onset_s: np.ndarray,
    is_fall_clip: np.ndarray,
    probs: np.ndarray,
    threshold: float = ALARM_THRESHOLD,
) -> dict[str, Any]:
    """Clip-level results over all clips present.

    clips, end_s, fall_onset_s, is_fall_clip: (W,) per window; probs: (W, 5). A fall clip with no onset
    (NaN: no window of it allows fall, i.e. the fall is over before the first full window) cannot be
    detected by any window classifier: it is counted in `falls_before_first_window`, not in `fall_clips`,
    and its alarms count as false alarms. Returns counts, rates, delays (seconds) and the ids of missed
    falls and of clips with false alarms.
    """
    missed, false_clips, delays = [], [], []
    n_fall = n_adl = adl_alarms = early_alarms = unobservable = 0
    for clip in sorted(set(clips.tolist())):
        rows = clips == clip
        alarms = alarm_times(end_s[rows], probs[rows, FALL], threshold)
        onset = float(fall_onset_s[rows][0])
        if is_fall_clip[rows][0] and not np.isfinite(onset):
            unobservable += 1
            early_alarms += len(alarms)
            if alarms:
                false_clips.append(clip)
        elif is_fall_clip[rows][0]:
            n_fall += 1
            early = [t for t in alarms if t < onset - ONSET_TOLERANCE_S]
            on_time = [t for t in alarms if t >= onset - ONSET_TOLERANCE_S]
            early_alarms += len(early)
            if early:
                false_clips.append(clip)
            if on_time:
                delays.append(on_time[0] - onset)
            else:
                missed.append(clip)
        else:
            n_adl += 1
            adl_alarms += len(alarms)
            if alarms:
                false_clips.append(clip)
    delay = spread(delays)
    return {
        "fall_clips": n_fall,
        "falls_detected": n_fall - len(missed),
        "falls_before_first_window": unobservable,
        "early_alarms_in_fall_clips": early_alarms,
        "adl_clips": n_adl,
        "adl_clips_with_alarm": sum(1 for c in false_clips if c in set(clips[~is_fall_clip].tolist())),
        "false_alarms_per_adl_clip": adl_alarms / n_adl if n_adl else None,
        "delay_s_median": delay["median"],
        "delay_s_max": delay["max"],
        "missed": missed,
        "false_alarm_clips": false_clips,
    }


def _f1(tp: int, fp: int, fn: int) -> float | None:
    """F1 of the fall class; None when there is nothing to score (no fall windows, none predicted)."""
    if tp + fp + fn == 0:
        return None
    return 2 * tp / (2 * tp + fp + fn)


def window_report(masks: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    """Window-level metrics (module docstring). masks: bool (W, 5); probs: (W, 5)."""
    pred = np.argmax(probs, axis=1)
    hit = masks[np.arange(len(pred)), pred]
    definite = masks.sum(axis=1) == 1
    truth = np.argmax(masks, axis=1)
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=int)
    np.add.at(confusion, (truth[definite], pred[definite]), 1)
    per_class = {}
    for c, name in enumerate(CLASSES):
        tp = int(confusion[c, c])
        support, predicted = int(confusion[c].sum()), int(confusion[:, c].sum())
        per_class[name] = {
            "precision": tp / predicted if predicted else None,
            "recall": tp / support if support else None,
            "support": support,
        }
    positive = masks[:, FALL] & definite
    negative = ~masks[:, FALL]
    said_fall = pred == FALL
    tp, fp, fn = (
        int((positive & said_fall).sum()),
        int((negative & said_fall).sum()),
        int((positive & ~said_fall).sum()),
    )
    return {
        "windows": len(pred),
        "set_accuracy": float(hit.mean()) if len(pred) else None,
        "definite_windows": int(definite.sum()),
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "fall_f1": _f1(tp, fp, fn),
        "fall_windows": {"tp": tp, "fp": fp, "fn": fn},
    }


def per_source_f1(sources: np.ndarray, masks: np.ndarray, probs: np.ndarray) -> dict[str, dict[str, Any]]:
    """Window set accuracy and fall F1 per source."""
    out = {}
    for source in sorted(set(sources.tolist())):
        rows = sources == source
        rep = window_report(masks[rows], probs[rows])
        out[source] = {"windows": rep["windows"], "set_accuracy": rep["set_accuracy"], "fall_f1": rep["fall_f1"]}
    return out


THRESHOLD_GRID = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def choose_threshold(
    clips: np.ndarray,
    end_s: np.ndarray,
    fall_onset_s: np.ndarray,
    is_fall_clip: np.ndarray,
    probs: np.ndarray,
    grid: tuple[float, ...] = THRESHOLD_GRID,
) -> float:
    """The p(fall) alarm threshold from `grid` that maximises (fall clips detected / fall clips) minus
    (daily-activity clips alarmed / daily-activity clips) on these (validation) windows; ties go to the
    higher threshold (fewer false alarms). ALARM_THRESHOLD when there are no clips of either kind.
    """
    best, best_score = ALARM_THRESHOLD, -np.inf
    for t in grid:
        rep = clip_report(clips, end_s, fall_onset_s, is_fall_clip, probs, t)
        if not rep["fall_clips"] or not rep["adl_clips"]:
            return ALARM_THRESHOLD
        score = rep["falls_detected"] / rep["fall_clips"] - rep["adl_clips_with_alarm"] / rep["adl_clips"]
        if score >= best_score:
            best, best_score = t, score
    return best


@dataclass(frozen=True)
class ClipEvents:
    """What the product's alarm did on one replayed clip; times in seconds on the clip's clock.

    kind: "fall" or "adl"; onset_s: the labelled fall onset (None: a daily-activity clip, or unlabelled).
    suspected_s / alert_s: the first fall_suspected / alarm (fall_alert or long_lie) no earlier than ONSET_TOLERANCE_S
    before the onset (the first at all in a clip without onset); None when there was none.
    early_s: in a fall clip, the fall_suspected times before that (false alarms before the fall).
    open_at_end: the states ("suspected", "alert") of the episodes still open when the clip ended.
    """

    clip_id: str
    source: str
    kind: str
    onset_s: float | None
    suspected_s: float | None
    alert_s: float | None
    early_s: tuple[float, ...] = ()
    open_at_end: tuple[str, ...] = ()

    @property
    def suspected_delay_s(self) -> float | None:
        """Onset -> fall_suspected (None without both)."""
        return None if self.suspected_s is None or self.onset_s is None else self.suspected_s - self.onset_s

    @property
    def alert_delay_s(self) -> float | None:
        """Onset -> fall_alert (None without both)."""
        return None if self.alert_s is None or self.onset_s is None else self.alert_s - self.onset_s


def clip_events(
    clip_id: str, source: str, kind: str, onset_s: float | None, events: list[Event], open_at_end: tuple[str, ...] = ()
) -> ClipEvents:
    """Score one clip's events (edge.events.Event, video_time on the clip's clock); see ClipEvents."""
    since = -np.inf if onset_s is None or kind != "fall" else onset_s - ONSET_TOLERANCE_S

    def first(name: str) -> float | None:
        return next((e.video_time for e in events if e.event == name and e.video_time >= since), None)

    early = tuple(e.video_time for e in events if e.event == "fall_suspected" and e.video_time < since)
    alert = min((t for t in (first("fall_alert"), first("long_lie")) if t is not None), default=None)
    return ClipEvents(clip_id, source, kind, onset_s, first("fall_suspected"), alert, early, open_at_end)


def spread(values: list[float]) -> dict[str, float | None]:
    """{"median", "max"} of `values` (None for both when there are none)."""
    return {
        "median": float(np.median(values)) if values else None,
        "max": float(np.max(values)) if values else None,
    }


def events_report(results: list[ClipEvents]) -> dict[str, dict[str, Any]]:
    """Per source: fall clips suspected / alerted (with the ids missed), median and max delay from the
    labelled onset to each (fall clips with an onset), fall clips with an early fall_suspected, and the
    daily-activity clips that raised fall_suspected / fall_alert (their ids)."""
    out: dict[str, dict[str, Any]] = {}
    for source in sorted({r.source for r in results}):
        falls = [r for r in results if r.source == source and r.kind == "fall"]
        adl = [r for r in results if r.source == source and r.kind != "fall"]
        out[source] = {
            "fall_clips": len(falls),
            "suspected": sum(r.suspected_s is not None for r in falls),
            "alerted": sum(r.alert_s is not None for r in falls),
            "delay_suspected_s": spread([d for r in falls if (d := r.suspected_delay_s) is not None]),
            "delay_alert_s": spread([d for r in falls if (d := r.alert_delay_s) is not None]),
            "not_suspected": [r.clip_id for r in falls if r.suspected_s is None],
            "not_alerted": [r.clip_id for r in falls if r.alert_s is None],
            "suspected_early": [r.clip_id for r in falls if r.early_s],
            "adl_clips": len(adl),
            "adl_suspected": [r.clip_id for r in adl if r.suspected_s is not None],
            "adl_alerted": [r.clip_id for r in adl if r.alert_s is not None],
            "open_at_end": {r.clip_id: list(r.open_at_end) for r in falls if r.open_at_end},
            "adl_open_at_end": {r.clip_id: list(r.open_at_end) for r in adl if r.open_at_end},
        }
    return out
