"""The class report's plots, drawn with matplotlib (Agg), each a ``Picture``: the PNG, alt
text written from the same numbers the plot draws, and the labels the figure carries (so
that a test can see that every plot explains itself).

Figures are made with ``matplotlib.figure.Figure`` and no pyplot: nothing is kept between
plots, and a class of hundreds of students costs a few figures, not one per student.
"""
from __future__ import annotations

import base64
import html
import io
import statistics
from dataclasses import dataclass, field

from autograder.classroom.record import ClassReport, measures
from autograder.results import PASSED

WIDTH = 7.5
DPI = 100
BLUE, GREEN, ORANGE, RED, GREY = "#4c78a8", "#54a24b", "#f58518", "#e45756", "#999999"
PASS_BANDS = ((75.0, GREEN, "75% or more pass"), (40.0, ORANGE, "40% to 74% pass"), (0.0, RED, "under 40% pass"))
LABELLED_PER_TASK = 3  # the speed plot names at most this many students per task


@dataclass(frozen=True)
class Picture:
    png: bytes
    alt: str  # what the image shows, in words, from the numbers it draws
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    legend: tuple[str, ...] = ()
    annotations: tuple[str, ...] = ()  # text written on the plot itself (students' names)
    table: list[tuple[str, ...]] = field(default_factory=list)  # the numbers, header first, for a table beside it


def figure(height: float = 3.0, width: float = WIDTH):
    from matplotlib.figure import Figure

    drawing = Figure(figsize=(width, height), dpi=DPI)
    return drawing, drawing.add_subplot()


def picture(drawing, alt: str, table: list[tuple[str, ...]] | None = None, margins: dict | None = None) -> Picture:
    """The figure as PNG bytes, with the labels it carries read back from it. ``margins``
    (``subplots_adjust``'s) instead of a tight layout: a third of the time, for the
    pictures drawn once per student."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    axes = drawing.axes[0]
    legend = axes.get_legend()
    found = dict(title=axes.get_title(), xlabel=axes.get_xlabel(), ylabel=axes.get_ylabel(),
                 legend=tuple(text.get_text() for text in legend.get_texts()) if legend else (),
                 annotations=tuple(text.get_text() for text in axes.texts))
    FigureCanvasAgg(drawing)
    if margins:
        drawing.subplots_adjust(**margins)
    else:
        drawing.tight_layout()
    buffer = io.BytesIO()
    drawing.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})  # a quarter faster, a third larger
    return Picture(buffer.getvalue(), alt, table=table or [], **found)


def html_image(picture: Picture | None, missing: str) -> str:
    """``<img>`` with the picture embedded, or ``missing`` as a line of text."""
    if picture is None:
        return f'<p class="small">{html.escape(missing)}</p>'
    encoded = base64.b64encode(picture.png).decode("ascii")
    return f'<img alt="{html.escape(picture.alt)}" src="data:image/png;base64,{encoded}">'


def html_table(rows: list[tuple[str, ...]], summary: str) -> str:
    """The numbers behind a plot, folded under ``summary``: hovering a dot is not possible."""
    if len(rows) < 2:
        return ""
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows[1:])
    return (f'<details><summary>{html.escape(summary)}</summary>'
            f'<table class="grid"><tr>{head}</tr>{body}</table></details>')


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}" + ("" if number == 1 else "s")


def score_distribution(report: ClassReport) -> Picture:
    drawing, axes = figure()
    scores = [r.result.score for r in report.graded]
    top = max((r.result.max_score for r in report.graded), default=1)
    median = statistics.median(scores)
    axes.hist(scores, bins=[x - 0.5 for x in range(int(top) + 2)], color=BLUE, edgecolor="white",
              label="students with this score")
    axes.axvline(median, color=RED, linestyle="dashed", label=f"median {median:g}")
    axes.set_xlim(-0.5, top + 0.5)
    axes.set_xlabel(f"score (out of {top:g})")
    axes.set_ylabel("students")
    axes.set_title(f"Score distribution ({len(scores)} graded)")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.legend(loc="upper left", fontsize=8)
    alt = (f"Histogram of the scores of {_count(len(scores), 'graded student')}, out of {top:g}: "
           f"lowest {min(scores):g}, median {median:g}, highest {max(scores):g}.")
    return picture(drawing, alt)


def _band(rate: float) -> tuple[float, str, str]:
    return next(band for band in PASS_BANDS if rate >= band[0])


def pass_rate(report: ClassReport) -> Picture:
    drawing, axes = figure()
    task_ids, names = report.task_ids(), report.task_names()
    rates, table = [], [("Task", "Name", "Passed", "Graded", "Pass rate")]
    for task_id in task_ids:
        results = [r.task(task_id) for r in report.graded if r.task(task_id) is not None]
        passed = sum(t.status == PASSED for t in results)
        rates.append(100 * passed / max(1, len(results)))
        table.append((task_id, names.get(task_id, ""), str(passed), str(len(results)), f"{rates[-1]:.0f}%"))
    axes.bar(range(len(task_ids)), rates, color=[_band(rate)[1] for rate in rates])
    for low, color, label in PASS_BANDS:  # one legend entry per colour, present or not
        axes.bar([0], [0], color=color, label=label)
    axes.set_xticks(range(len(task_ids)), task_ids, rotation=90, fontsize=8)
    axes.set_ylim(0, 118)  # room above the bars for the legend
    axes.set_yticks(range(0, 101, 20))
    axes.set_xlabel("task")
    axes.set_ylabel("% of students passing")
    axes.set_title("Pass rate per task")
    axes.legend(loc="upper center", ncol=3, fontsize=8, framealpha=0.9)
    bands = [sum(_band(rate)[0] == low for rate in rates) for low, _, _ in PASS_BANDS]
    lowest = sorted(zip(rates, task_ids))[:3]
    alt = (f"Bar chart of the share of students passing each of {len(task_ids)} tasks: "
           f"{bands[0]} with 75% or more passing (green), {bands[1]} with 40% to 74% (orange), "
           f"{bands[2]} under 40% (red). Lowest: "
           + ", ".join(f"{task_id} ({rate:.0f}%)" for rate, task_id in lowest) + ".")
    return picture(drawing, alt, table)


def _ratios(report: ClassReport, task_id: str) -> list[tuple[float, str]]:
    found = []
    for record in report.graded:
        ratio = measures(record.task(task_id)).get("speed_ratio") if record.task(task_id) else None
        if isinstance(ratio, (int, float)):
            found.append((float(ratio), record.name))
    return sorted(found)


def outliers(ratios: list[tuple[float, str]], limit: float | None) -> list[tuple[float, str]]:
    """The students the plot names: over the limit, or more than twice the task's median."""
    if not ratios:
        return []
    median = statistics.median(ratio for ratio, _ in ratios)
    named = [(ratio, name) for ratio, name in ratios
             if (limit is not None and ratio > limit) or (len(ratios) > 2 and ratio > 2 * median)]
    return sorted(named, reverse=True)[:LABELLED_PER_TASK]


def speed_ratio(report: ClassReport, limits: dict[str, float]) -> Picture | None:
    """Each student's time over the reference's, per timed task, with the task's limit."""
    per_task = {task_id: _ratios(report, task_id) for task_id in report.task_ids()}
    per_task = {task_id: ratios for task_id, ratios in per_task.items() if ratios}
    if not per_task:
        return None
    drawing, axes = figure(3.4)
    highest = max([max(limits.get(t, 1.0) for t in per_task), *(r for rs in per_task.values() for r, _ in rs)])
    named, table = [], [("Task", "Timed", "Median", "Slowest", "Limit", "Over the limit")]
    limit_shown = False
    for position, (task_id, ratios) in enumerate(per_task.items()):
        spread = [position + 0.6 * ((i * 0.618034) % 1 - 0.5) for i in range(len(ratios))]  # even, no stripes
        axes.scatter(spread, [r for r, _ in ratios], s=18, alpha=0.7, color=BLUE,
                     label="one student: time ÷ reference's" if position == 0 else None)
        limit = limits.get(task_id)
        if limit is not None:
            axes.hlines(limit, position - 0.45, position + 0.45, colors=RED, linestyles="dashed",
                        label=None if limit_shown else "the task's limit")
            limit_shown = True
        for rank, (ratio, name) in enumerate(outliers(ratios, limit)):
            x = spread[ratios.index((ratio, name))]
            axes.annotate(name, (x, ratio), xytext=(5, 3 if rank % 2 == 0 else -9), textcoords="offset points",
                          fontsize=7)
            named.append((task_id, name, ratio))
        over = [name for ratio, name in ratios if limit is not None and ratio > limit]
        median = statistics.median(r for r, _ in ratios)
        table.append((task_id, str(len(ratios)), f"{median:.2f}×", f"{ratios[-1][1]} ({ratios[-1][0]:.2f}×)",
                      f"{limit:g}×" if limit is not None else "none", ", ".join(over) or "none"))
    axes.axhline(1.0, color=GREY, linewidth=0.8, label="as fast as the reference")
    axes.set_ylim(0, highest * 1.4)  # room above the dots for the legend
    axes.set_xlim(-0.6, len(per_task) - 0.4)
    axes.set_xticks(range(len(per_task)), list(per_task))
    axes.set_xlabel("task")
    axes.set_ylabel("time / reference's time")
    axes.set_title("Speed ratio per task (each dot a student)")
    axes.legend(loc="upper center", ncol=3, fontsize=8, framealpha=0.9)
    students = len({name for ratios in per_task.values() for _, name in ratios})
    over_count = sum(1 for task_id, ratios in per_task.items() for r, _ in ratios if r > limits.get(task_id, r))
    alt = (f"Dot plot of each student's time over the reference's for tasks {', '.join(per_task)} "
           f"({_count(students, 'student')} timed; a grey line at 1, dashed red lines at each task's limit). "
           f"{_count(over_count, 'time')} over the limit. "
           + ("Named on the plot: " + "; ".join(f"{name} ({task_id}, {ratio:.2f}×)" for task_id, name, ratio in named)
              + "."
              if named else "No student is named: none is over the limit or far slower than the class."))
    return picture(drawing, alt, table)
