"""The class report's plots, drawn with matplotlib (Agg) and returned as PNG bytes."""
from __future__ import annotations

import io

from autograder.classroom.record import ClassReport, measures
from autograder.results import PASSED

WIDTH = 7.5


def _png(figure) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def _figure(height: float = 3.0):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(WIDTH, height))


def score_distribution(report: ClassReport) -> bytes:
    figure, axes = _figure()
    scores = [r.result.score for r in report.graded]
    top = max((r.result.max_score for r in report.graded), default=1)
    axes.hist(scores, bins=[x - 0.5 for x in range(int(top) + 2)], color="#4c78a8", edgecolor="white")
    axes.set_xlim(-0.5, top + 0.5)
    axes.set_xlabel(f"score (out of {top:g})")
    axes.set_ylabel("students")
    axes.set_title(f"Score distribution ({len(scores)} graded)")
    axes.yaxis.get_major_locator().set_params(integer=True)
    return _png(figure)


def pass_rate(report: ClassReport) -> bytes:
    figure, axes = _figure()
    task_ids = report.task_ids()
    rates = []
    for task_id in task_ids:
        results = [r.task(task_id) for r in report.graded if r.task(task_id) is not None]
        rates.append(100 * sum(t.status == PASSED for t in results) / max(1, len(results)))
    colors = ["#54a24b" if rate >= 75 else "#f58518" if rate >= 40 else "#e45756" for rate in rates]
    axes.bar(range(len(task_ids)), rates, color=colors)
    axes.set_xticks(range(len(task_ids)), task_ids, rotation=90, fontsize=8)
    axes.set_ylim(0, 100)
    axes.set_ylabel("% of students passing")
    axes.set_title("Pass rate per task")
    return _png(figure)


def speed_ratio(report: ClassReport, limits: dict[str, float]) -> bytes | None:
    """Each student's time over the reference's, per timed task, with the task's limit."""
    task_ids = [task_id for task_id in report.task_ids()
                if any("speed_ratio" in measures(t) for r in report.graded for t in [r.task(task_id)] if t)]
    if not task_ids:
        return None
    figure, axes = _figure()
    highest = max(limits.values(), default=1.0)
    for position, task_id in enumerate(task_ids):
        ratios = [measures(r.task(task_id))["speed_ratio"] for r in report.graded
                  if r.task(task_id) is not None and "speed_ratio" in measures(r.task(task_id))]
        spread = [position + 0.25 * ((i % 5) - 2) / 2 for i in range(len(ratios))]
        axes.scatter(spread, ratios, s=18, alpha=0.7, color="#4c78a8")
        highest = max([highest, *ratios])
        if task_id in limits:
            axes.hlines(limits[task_id], position - 0.4, position + 0.4, colors="#e45756", linestyles="dashed")
    axes.set_ylim(0, highest * 1.1)
    axes.axhline(1.0, color="#999999", linewidth=0.8)
    axes.set_xticks(range(len(task_ids)), task_ids)
    axes.set_ylabel("time / reference's time")
    axes.set_title("Speed ratio per task (dashed: the limit)")
    return _png(figure)
