"""The class report's "Similar submissions" section, and ``similarity.csv``.

Both are small functions of ``similarity.pairs.Similarity``. The section lists the pairs,
ranked by shared fraction, each with its tasks and, per task, the two students' code side
by side with the shared lines marked; the CSV has one row per pair. All student text is
HTML-escaped, and a CSV cell a spreadsheet would read as a formula starts with ``'``.
"""
from __future__ import annotations

import csv
import html
import io
from urllib.parse import quote

from autograder.outputs import feedback
from autograder.outputs.gradebook import text_cell
from autograder.similarity import fingerprints
from autograder.similarity.pairs import (COMMON_MIN, COMMON_SHARE, MIN_PAIR_TOKENS, MIN_TASK_TOKENS, Pair,
                                         SharedTask, Similarity)

FILENAME = "similarity.csv"
COLUMNS = ["rank", "student_a", "student_b", "shared_a", "shared_b", "shared_tokens", "tasks",
           "lines_a", "lines_b", "folder_a", "folder_b"]
KIT_FOLDERS = ("solutions", "exercises")
NO_KIT_CODE = ("The kit's {folders} could not be found beside the grader: code that is the course's own "
               "(stubs, given code, the reference answers) may count as shared. Grade from the kit's checkout.")
SHOWN_PAIRS = 50  # in the page; similarity.csv has them all
SHOWN_LINES = 60  # per side of a task
_STYLE = """<style>.similar .sides{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:.5rem;margin:.3rem 0 .8rem}
.similar pre{margin:0;font-size:.85rem;overflow-x:auto;white-space:pre}.similar .where{font-size:.85rem;color:#444}
.similar mark{background:#ffe58a;display:inline-block;min-width:100%}.similar .no{color:#999;user-select:none}
.similar .cell{color:#666;font-style:italic}</style>"""


def rule() -> str:
    """The thresholds, in words, for the page and the README."""
    return (f"Task code is compared task by task after normalising names, whitespace, comments and docstrings; "
            f"code runs of {fingerprints.K} tokens found in the course's own code, or held by more than "
            f"max({COMMON_MIN}, {COMMON_SHARE:.0%} of the class) students, do not count. A task is shared when both "
            f"sides share at least {MIN_TASK_TOKENS} tokens of it, and a pair is listed when its shared tasks "
            f"hold at least {MIN_PAIR_TOKENS} tokens (a few lines). Marked lines hold shared code of the students' "
            f"own; lines that are the same but the course's code are not marked.")


def _link(student: str, name: str) -> str:
    href = quote(f"students/{student}/{feedback.HTML}")
    return f'<a href="{html.escape(href)}">{html.escape(name)}</a>'


def _code(lines: tuple[tuple[int, str, bool], ...]) -> str:
    shown = []
    for number, text, shared in lines[:SHOWN_LINES]:
        if number == 0:  # the task continues in another cell
            shown.append(f'<span class="cell"># {html.escape(text)}</span>')
            continue
        line = f'<span class="no">{number:>4} </span>{html.escape(text)}'
        shown.append(f"<mark>{line}</mark>" if shared else line)
    if len(lines) > SHOWN_LINES:
        shown.append(f'<span class="cell">… {len(lines) - SHOWN_LINES} more lines</span>')
    return "<pre>" + "\n".join(shown) + "</pre>"


def _side(name: str, location: str, lines: tuple[tuple[int, str, bool], ...]) -> str:
    where = name if lines and lines[0][0] == 0 else f"{name}: {location}"  # else each cell is named in the code
    return f'<div><div class="where">{html.escape(where)}</div>{_code(lines)}</div>'


def _task(pair: Pair, task: SharedTask) -> list[str]:
    return [f"<p>Task {html.escape(task.task_id)}: {task.tokens} shared tokens</p>", '<div class="sides">',
            _side(pair.name_a, task.location_a, task.lines_a), _side(pair.name_b, task.location_b, task.lines_b),
            "</div>"]


def _pair(rank: int, pair: Pair) -> list[str]:
    tasks = ", ".join(task.task_id for task in pair.tasks)
    summary = (f"{rank}. {_link(pair.student_a, pair.name_a)} and {_link(pair.student_b, pair.name_b)}: "
               f"{pair.fraction_a:.0%} of {html.escape(pair.name_a)}'s own code and {pair.fraction_b:.0%} of "
               f"{html.escape(pair.name_b)}'s, {pair.tokens} tokens, in task{'s' if len(pair.tasks) > 1 else ''} "
               f"{html.escape(tasks)}")
    body = [f"<details{' open' if rank <= 3 else ''}><summary>{summary}</summary>"]
    for task in pair.tasks:
        body += _task(pair, task)
    return body + ["</details>"]


def section(similarity: Similarity | None) -> list[str]:
    """The report's section; nothing when the run did not compare submissions."""
    if similarity is None:
        return []
    body = [_STYLE, '<section class="similar">', "<h2>Similar submissions</h2>"]
    course = ", ".join(f"<code>{html.escape(name)}</code>" for name in similarity.course) or "none found"
    body.append(f'<p class="small">{html.escape(rule())} Course code read: {course}. '
                f"{similarity.compared} submissions compared ({similarity.candidates} pairs shared a "
                "fingerprint and were measured).</p>")  # no time here: the same run writes the same page
    missing = [name for name in KIT_FOLDERS if name not in similarity.course]
    if missing and not similarity.error:
        body.append(f"<p>{html.escape(NO_KIT_CODE.format(folders=' and '.join(f'{m}/' for m in missing)))}</p>")
    for problem in similarity.problems:
        body.append(f"<p>Given code not read: {html.escape(problem)}</p>")
    if similarity.error:
        body.append(f"<p>The submissions could not be compared: {html.escape(similarity.error)}</p>")
    elif not similarity.pairs:
        body.append("<p>No pair of submissions is above the threshold.</p>")
    else:
        body.append(f"<p>{len(similarity.pairs)} pair{'s' if len(similarity.pairs) > 1 else ''} above the "
                    f"threshold, the most similar first (all in <code>{FILENAME}</code>).</p>")
        for rank, pair in enumerate(similarity.pairs[:SHOWN_PAIRS], start=1):
            body += _pair(rank, pair)
        if len(similarity.pairs) > SHOWN_PAIRS:
            body.append(f'<p class="small">and {len(similarity.pairs) - SHOWN_PAIRS} more pairs in '
                        f"<code>{FILENAME}</code></p>")
    if similarity.skipped:
        body.append("<p>Not compared (their code could not be read):</p><ul>")
        body += [f"<li>{html.escape(name)}: {html.escape(why)}</li>" for name, why in similarity.skipped]
        body.append("</ul>")
    return body + ["</section>"]


def _ranges(numbers: list[int]) -> str:
    runs: list[list[int]] = []
    for number in sorted(set(numbers)):
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _shared(lines: tuple[tuple[int, str, bool], ...], location: str) -> str:
    """``02_fully_connected.ipynb, cell 42: 1-3, 7``, one group per cell the task spans."""
    groups: list[tuple[str, list[int]]] = [(location, [])]
    for number, text, shared in lines:
        if number == 0:
            groups.append((text, []))
        elif shared:
            groups[-1][1].append(number)
    return "; ".join(f"{where}: {_ranges(numbers)}" for where, numbers in groups if numbers)


def _lines(pair: Pair, side: str) -> str:
    return " | ".join(f"{task.task_id} " + (_shared(task.lines_a, task.location_a) if side == "a"
                                             else _shared(task.lines_b, task.location_b)) for task in pair.tasks)


def render_csv(similarity: Similarity) -> str:
    """One row per pair above the threshold, the most similar first (only the header when none is)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for rank, pair in enumerate(similarity.pairs, start=1):
        writer.writerow([rank, text_cell(pair.name_a), text_cell(pair.name_b), f"{pair.fraction_a:.3f}",
                         f"{pair.fraction_b:.3f}", pair.tokens, " ".join(t.task_id for t in pair.tasks),
                         text_cell(_lines(pair, "a")), text_cell(_lines(pair, "b")),
                         f"students/{pair.student_a}", f"students/{pair.student_b}"])
    return buffer.getvalue()
