"""Day indexing shared by all parts: day 0 = history start, `start_day` = first export date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

DAY = 86_400


@dataclass(frozen=True)
class Timeline:
    history_start: date
    start_day: int  # index of the first export date (the backfill folder)
    end_day: int  # index of the last export date

    @classmethod
    def build(cls, start: date, end: date, history_days: int) -> Timeline:
        if end < start:
            raise ValueError("end must not be before start")
        if history_days < 30:
            raise ValueError("history_days must be at least 30")
        return cls(start - timedelta(days=history_days), history_days, history_days + (end - start).days)

    @property
    def base(self) -> int:
        """Epoch seconds of day 0, 00:00 UTC."""
        return int(datetime(*self.history_start.timetuple()[:3], tzinfo=UTC).timestamp())

    @property
    def n_days(self) -> int:
        return self.end_day + 1

    @property
    def n_dates(self) -> int:
        return self.end_day - self.start_day + 1

    @property
    def end_ts(self) -> int:
        """Last second of the last export date."""
        return self.base + self.n_days * DAY - 1

    def ts(self, day: np.ndarray, second: np.ndarray | int = 0) -> np.ndarray:
        return self.base + np.asarray(day, dtype=np.int64) * DAY + second

    def day_of(self, seconds: np.ndarray) -> np.ndarray:
        return (np.asarray(seconds, dtype=np.int64) - self.base) // DAY

    def export_index(self, day: np.ndarray) -> np.ndarray:
        """Folder index (0 = backfill) for a row created or changed on `day`."""
        return np.maximum(np.asarray(day, dtype=np.int64), self.start_day) - self.start_day


def time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds into the day: a daytime peak plus a flat night-time share."""
    peak = rng.normal(13 * 3600, 4.5 * 3600, n)
    flat = rng.uniform(0, DAY, n)
    sec = np.where(rng.random(n) < 0.8, peak, flat)
    return np.mod(sec, DAY).astype(np.int64)
