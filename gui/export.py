"""Results as CSV or JSON, written atomically."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile

from workers.record import RunRecord


def flat(record: RunRecord) -> dict[str, object]:
    """One record as a flat row: every field, lag statistics spelled out, the
    switch intervals and the lag split at their changes as JSON. ``tasks`` is the
    count here, as in the table: the task spans are in the JSON and the trace.

    ``outcome`` (done / cancelled / failed) and ``ok`` (verified) are the table's
    "outcome" and "verified"; a throughput with an outcome other than done is partial.
    """
    # The spans (one per task) are too many for a cell; the count keeps its name.
    whole = record.as_dict()
    del whole["tasks"]
    data = {("tasks" if k == "task_count" else k): v for k, v in whole.items()}
    lag = data.pop("lag_ms")
    errors = data.pop("errors")
    data.update(
        {
            f"lag_{k}_ms" if k not in ("samples", "over_50", "freezes") else f"lag_{k}": v
            for k, v in lag.items()
        }
    )
    data["errors"] = "; ".join(errors)
    # Lists in one cell, as JSON a script can read back.
    for key in ("switch_intervals", "lag_by_switch", "worker_rss_mb", "reentered_by"):
        data[key] = json.dumps(data[key], separators=(",", ":"))
    return data


def to_csv(records: list[RunRecord]) -> str:
    out = io.StringIO()
    rows = [flat(r) for r in records]
    names = list(dict.fromkeys(k for row in rows for k in row)) or ["workload"]
    writer = csv.DictWriter(out, fieldnames=names)  # every row's keys: old records lack some
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_json(records: list[RunRecord]) -> str:
    return json.dumps([r.as_dict() for r in records], indent=2)


def save_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically: the old file stays whole if anything fails."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".unfreeze-", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
