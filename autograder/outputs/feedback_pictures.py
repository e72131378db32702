"""The pictures in a student's ``feedback.html``, drawn from what grading already measured.

- The matmul ladder (1.2 to 1.8): one pair of bars per rung, the student's time beside the
  reference's (the speed check's ratio, so the reference is 1×), with the limit.
- The init tasks (2.3, 2.6): one histogram of the student's weights for each (the counts
  the check kept, ``checks.lesson02.weights_histogram``), as densities under the normal
  they should follow. One picture for both: each costs a figure, drawn once per student.
"""
from __future__ import annotations

import html
import math

from autograder.classroom.record import StudentRecord, measures
from autograder.outputs import plots
from autograder.speed_limits import SPEED

LADDER = ("1.2", "1.4", "1.6", "1.7", "1.8")  # the matmul versions, slowest first
INIT_TASKS = ("2.3", "2.6")
HEIGHT, WIDTH = 2.8, 6.5
HEADING = "Your code in pictures"
MARGINS = {"left": 0.12, "right": 0.98, "top": 0.9}  # and a bottom per picture: room for its tick labels


def _short(name: str) -> str:
    """"matmul (einsum)" -> "einsum": the rung's own word."""
    return name[name.find("(") + 1:name.rfind(")")] if "(" in name else name


def matmul_ladder(record: StudentRecord) -> plots.Picture | None:
    rungs = [record.task(task_id) for task_id in LADDER if record.task(task_id) is not None]
    timed = [(task, measures(task)["speed_ratio"]) for task in rungs
             if isinstance(measures(task).get("speed_ratio"), (int, float))]
    if not timed:
        return None
    drawing, axes = plots.figure(HEIGHT, WIDTH)
    positions = range(len(timed))
    axes.bar([p - 0.2 for p in positions], [1.0] * len(timed), width=0.4, color=plots.GREY,
             label="the reference's time (1×)")
    axes.bar([p + 0.2 for p in positions], [ratio for _, ratio in timed], width=0.4, color=plots.BLUE,
             label="your time")
    for position, (task, ratio) in enumerate(timed):
        axes.annotate(f"{ratio:.2f}×", (position + 0.2, ratio), xytext=(0, 2), textcoords="offset points",
                      ha="center", fontsize=8)
    limits = {SPEED[task.id].ratio for task, _ in timed if task.id in SPEED and SPEED[task.id].ratio}
    for limit in sorted(limits):
        axes.axhline(limit, color=plots.RED, linestyle="dashed", linewidth=1, label=f"the limit ({limit:g}×)")
    highest = max([*limits, *(ratio for _, ratio in timed), 1.0])
    axes.set_ylim(0, highest * 1.35)
    axes.set_xticks(list(positions), [f"{task.id}\n{_short(task.name)}" for task, _ in timed], fontsize=8)
    untimed = [task for task in rungs if task not in [t for t, _ in timed]]
    axes.set_xlabel("matmul, rung by rung" + (f" (not timed: {', '.join(t.id for t in untimed)})" if untimed else ""))
    axes.set_ylabel("time / reference's time")
    axes.set_title("Your matmul against the reference's")
    axes.legend(loc="upper center", ncol=3, fontsize=8)
    alt = ("Bar chart, one pair of bars per matmul rung, your time beside the reference's (1×): "
           + "; ".join(f"{task.id} ({_short(task.name)}) {ratio:.2f}×" for task, ratio in timed)
           + (f". The dashed line is the limit, {', '.join(f'{limit:g}×' for limit in sorted(limits))}"
              if limits else "")
           + "." + (f" Not timed: {', '.join(task.id for task in untimed)}." if untimed else ""))
    return plots.picture(drawing, alt, margins={**MARGINS, "bottom": 0.28})


def _weights(record: StudentRecord, task_id: str) -> dict | None:
    """The histogram an init check kept of the student's draw, or None."""
    task = record.task(task_id)
    kept = measures(task) if task is not None else {}
    counts = kept.get("weights_counts")
    if not isinstance(counts, list) or not counts or not sum(counts):
        return None
    low, high = float(kept["weights_low"]), float(kept["weights_high"])
    width = (high - low) / len(counts)
    return {"task": task, "counts": counts, "n_in": int(kept["weights_n_in"]), "n_out": int(kept["weights_n_out"]),
            "edges": [low + width * i for i in range(len(counts) + 1)], "width": width}


def _normal(x: float, std: float) -> float:
    return math.exp(-x * x / (2 * std * std)) / (std * math.sqrt(2 * math.pi))


def init_histogram(record: StudentRecord) -> plots.Picture | None:
    """Every init task's draw in one picture, as densities: they share the expected normal."""
    drawn = [found for task_id in INIT_TASKS if (found := _weights(record, task_id))]
    if not drawn:
        return None
    drawing, axes = plots.figure(HEIGHT, WIDTH)
    highest, described = 0.0, []
    for number, (found, color) in enumerate(zip(drawn, (plots.BLUE, plots.ORANGE))):
        total, task = sum(found["counts"]), found["task"]
        density = [count / (total * found["width"]) for count in found["counts"]]
        call = f"{task.name}({found['n_in']}, {found['n_out']})"
        filled = number == 0  # the second an outline over the first: both stay visible where they agree
        axes.stairs(density, found["edges"], fill=filled, alpha=0.6 if filled else 1.0, color=color,
                    linewidth=1.5, label=f"your {call} ({task.id})")
        highest = max(highest, *density)
        centres = [edge + found["width"] / 2 for edge in found["edges"][:-1]]
        described.append(f"{call} (Task {task.id}), {total} weights, standard deviation about "
                         f"{_std(centres, found['counts']):.4f}")
    low = min(found["edges"][0] for found in drawn)
    high = max(found["edges"][-1] for found in drawn)
    grid = [low + (high - low) * i / 200 for i in range(201)]  # the curve drawn smooth
    expected = sorted({found["n_in"] for found in drawn})
    for n_in in expected:
        std = math.sqrt(2 / n_in)
        axes.plot(grid, [_normal(x, std) for x in grid], color=plots.RED, linewidth=1.5,
                  label=f"expected: normal, std sqrt(2/{n_in}) = {std:.4f}")
        highest = max(highest, _normal(0, std))
    axes.set_xlim(low, high)
    axes.set_ylim(0, highest * 1.45)  # room for the legend above the peak
    axes.set_xlabel("weight value")
    axes.set_ylabel("density")
    ids = [found["task"].id for found in drawn]
    axes.set_title(f"Your weights against the expected normal (Task{'s' if len(ids) > 1 else ''} {' and '.join(ids)})")
    axes.legend(loc="upper left", fontsize=8)
    normals = "; ".join(f"sqrt(2/{n_in}) = {math.sqrt(2 / n_in):.4f}" for n_in in expected)
    alt = (f"Histogram of the weights your code returned, as densities, under the expected normal curve "
           f"(mean 0, standard deviation {normals}): " + "; ".join(described) + ".")
    return plots.picture(drawing, alt, margins={**MARGINS, "bottom": 0.2})


def _std(centres: list[float], counts: list[int]) -> float:
    """The histogram's standard deviation (the bins' centres): what the picture shows."""
    total = sum(counts)
    mean = sum(x * n for x, n in zip(centres, counts)) / total
    return math.sqrt(sum(n * (x - mean) ** 2 for x, n in zip(centres, counts)) / total)


def pictures(record: StudentRecord) -> list[plots.Picture]:
    """What grading measured, drawn; a picture whose numbers are malformed (a results file
    edited by hand, an older one) is left out, never the student's page."""
    if not record.graded:
        return []
    drawn = []
    for draw in (matmul_ladder, init_histogram):
        try:
            drawn.append(draw(record))
        except (KeyError, TypeError, ValueError, ZeroDivisionError, OverflowError):
            continue
    return [picture for picture in drawn if picture is not None]


def as_data(record: StudentRecord) -> list[dict]:
    """The pictures as plain data (alt text and PNG bytes): a class run draws them in the
    process that graded the student, in parallel, and the process writing the files only
    embeds them."""
    return [{"alt": picture.alt, "png": picture.png} for picture in pictures(record)]


def section(record: StudentRecord, drawn: list[dict] | None = None) -> list[str]:
    """The feedback page's pictures, as HTML (``drawn``: ``as_data``'s, else drawn here);
    nothing when grading measured none."""
    if drawn is None:
        drawn = as_data(record)
    if not drawn:
        return []
    return [f"<h2>{html.escape(HEADING)}</h2>",
            *(f"<p>{plots.html_image(plots.Picture(item['png'], item['alt']), '')}</p>" for item in drawn)]
