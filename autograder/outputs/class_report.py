"""``report.html``: the instructor's page for a class run, one self-contained file.

Scores, the plots (``plots``, embedded as base64 PNG, each with alt text from its own
numbers and, where a reader would want to hover, a table of them), the most common
failures per task (messages grouped by what they say, one shown whole, with the students
who got it), whole files that could not be read listed once, rule-breaking, speed
failures and flags, the students who could not be graded, and the pairs of similar
submissions (``similarity``).
"""
from __future__ import annotations

import html
import re
from urllib.parse import quote
from collections import defaultdict
from dataclasses import dataclass, field

from autograder import messages
from autograder.classroom.passing import PassScore
from autograder.classroom.record import ClassReport, StudentRecord, location
from autograder.outputs import feedback, plots, similarity
from autograder.results import PASSED
from autograder.similarity.pairs import Similarity

FILENAME = "report.html"
_PREFIX = re.compile(r"^Task [\w.]+ \(.*?\): ")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e-?\d+)?(?![\w])")
_EDIT_TAIL = re.compile(r"[^\n]* in [^\n]*\.")  # messages.EDIT, the last sentence of a message
_NOTE = re.compile(r"\s*\bNote: .*$", re.DOTALL)  # what the finder noticed: differs from student to student
_PLACE = re.compile(r"\((?:[^()]*\.(?:py|ipynb))?,? ?(?:cell|line) [^()]*\)")  # (l01_matmul.py, line 40)
UNREADABLE = "could not be read"
MISSING_FILE = messages.MISSING_LESSON.split("}", 1)[1].strip()  # "is missing from the submission"
OUT_OF_TIME = messages.OUT_OF_TIME.split("{", 1)[0]
SHOWN_GROUPS = 5  # per task; the others are folded under one line, whole
RULE_CHECKS = {"rules"}
SPEED_CHECKS = {"speed", "speed (work)", "speed (memory)", "speed (time)"}  # as speed.py and the checks name them

_STYLE = feedback._STYLE.replace("max-width:60rem", "max-width:72rem") + """
details{margin:.3rem 0}summary{cursor:pointer}.count{font-weight:bold}img{max-width:100%}
.grid td:nth-child(n+2){text-align:right}.group{margin:.4rem 0 .8rem}.group p{margin:.2rem 0}"""


def _body(message: str) -> str:
    """The message without the task's name in front and the file to edit at the end."""
    text = _PREFIX.sub("", message.strip())
    head, edit, tail = text.rpartition(" Edit ")
    return head.rstrip() if edit and _EDIT_TAIL.fullmatch(tail) else text


def failure_pattern(message: str) -> str:
    """What a message says once what differs between students is taken out (numbers, places,
    notes, the file to edit): the key failures are grouped by, never shown."""
    text = _NOTE.sub("", _body(message))
    return _NUMBER.sub("#", _PLACE.sub("(place)", text))


def failed_check(task) -> str:
    return next((check.name for check in task.checks if not check.passed), "")


@dataclass
class FailureGroup:
    """Students whose messages for one task say the same thing; ``example`` is one of them, whole."""

    pattern: str
    example: str
    students: list[str] = field(default_factory=list)
    identical: bool = True  # every student got exactly ``example``


@dataclass
class FileProblem:
    """One problem of a student's whole file (unreadable, missing) that failed several tasks."""

    kind: str
    student: str  # the name as handed in
    message: str
    task_ids: list[str]
    folder: str = ""  # the student's folder in the results: unique where names are not


def _file_kind(body: str) -> str:
    """Which problem of a whole file the message reports, or "" for a task's own failure."""
    if body.startswith("could not read "):  # reading.submission: not JSON, not UTF-8, ...
        return UNREADABLE
    if MISSING_FILE in body:
        return "missing from the submission"
    if body.startswith(OUT_OF_TIME):
        return "out of time"
    return ""


def file_problems(report: ClassReport) -> list[FileProblem]:
    """A file that could not be read, or is missing, or a time limit that ran out, fails every
    task it holds with one message: listed once per student, not under each task."""
    found = []
    for record in report.graded:
        by_body: dict[str, list] = defaultdict(list)
        for task in record.result.tasks:
            if task.status != PASSED and _file_kind(_body(task.message)):
                by_body[_body(task.message)].append(task)
        found += [FileProblem(_file_kind(body), record.name, body, [t.id for t in tasks], record.student)
                  for body, tasks in by_body.items()]
    return sorted(found, key=lambda p: (p.kind != UNREADABLE, p.kind, p.student))


def common_failures(report: ClassReport) -> dict[str, list[FailureGroup]]:
    """Task id -> its failure groups, most students first; whole-file problems left out."""
    whole_file = {(p.folder, task_id) for p in file_problems(report) for task_id in p.task_ids}
    grouped: dict[str, dict[str, FailureGroup]] = defaultdict(dict)
    for record in sorted(report.graded, key=lambda r: r.name):
        for task in record.result.tasks:
            if task.status == PASSED or (record.student, task.id) in whole_file:
                continue
            pattern = failure_pattern(task.message)
            group = grouped[task.id].setdefault(pattern, FailureGroup(pattern, task.message))
            if record.name not in group.students:
                group.students.append(record.name)
            group.identical = group.identical and task.message == group.example
    return {task_id: sorted(grouped[task_id].values(), key=lambda g: (-len(g.students), g.pattern))
            for task_id in report.task_ids() if task_id in grouped}


def _link(record: StudentRecord) -> str:
    href = quote(f"students/{record.student}/{feedback.HTML}")
    return f'<a href="{html.escape(href)}">{html.escape(record.name)}</a>'


def _scores_table(report: ClassReport, pass_score: PassScore | None = None) -> list[str]:
    """One row per student: the score, then what it is made of (tasks passed, hidden checks passed),
    and whether it passes when there is a pass score."""
    verdict = "<th>Passes</th>" if pass_score is not None else ""
    rows = [f"<table class=\"grid\"><tr><th>Student</th><th>Score</th>{verdict}"
            "<th>Tasks passed</th><th>Hidden checks passed</th><th>Seconds</th></tr>"]
    for record in sorted(report.records, key=lambda r: (r.name, r.student)):
        if record.graded:
            result = record.result
            passed = sum(t.status == PASSED for t in result.tasks)
            hidden = (f"{sum(t.status == PASSED for t in result.hidden)}/{len(result.hidden)}"
                      if result.hidden else "none")
            cells = [f"{result.score:g}/{result.max_score:g}"]
            if pass_score is not None:
                cells.append("yes" if pass_score.passed(result) else "no")
            cells += [f"{passed}/{len(result.tasks)}", hidden, f"{record.seconds.get('total', 0):.1f}"]
            rows.append(f"<tr><td>{_link(record)}</td>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
        else:
            span = 5 if pass_score is not None else 4
            rows.append(f"<tr><td>{_link(record)}</td><td colspan=\"{span}\">not graded</td></tr>")
    return rows + ["</table>", "<p class=\"small\">The score counts every task and every hidden check "
                   "(more cases of a task, each a row of its own in the student's feedback and a column "
                   "of the gradebook).</p>"]


def _image(picture: plots.Picture | None, missing: str, table_summary: str = "") -> str:
    """The plot with its alt text, and the numbers it draws in a table beside it."""
    shown = plots.html_image(picture, missing)
    return shown + (plots.html_table(picture.table, table_summary) if picture and table_summary else "")


def _students(count: int, graded: int) -> str:
    return f"{count} of {graded} graded student" + ("" if graded == 1 else "s")


def _group(group: FailureGroup, graded: int) -> str:
    said = "got this message" if group.identical else "got messages like this one (they differ in numbers or places)"
    example = "" if group.identical else f" Shown as {html.escape(group.students[0])} got it."
    return (f'<div class="group"><p><span class="count">{_students(len(group.students), graded)}</span> {said}: '
            f"{', '.join(html.escape(s) for s in group.students)}.{example}</p>"
            f"<pre>{html.escape(group.example)}</pre></div>")


def _file_problems_section(problems: list[FileProblem]) -> list[str]:
    if not problems:
        return []
    body = ["<h3>Problems of a whole file</h3>",
            "<p class=\"small\">A file that could not be read or is missing (or a time limit that ran out) fails "
            "every task it holds with one message: each is listed once here, not under each task.</p>"]
    for problem in problems:
        tasks = problem.task_ids
        span = f"tasks {tasks[0]} to {tasks[-1]}" if len(tasks) > 2 else " and ".join(tasks)
        body.append(f'<div class="group"><p><span class="count">{html.escape(problem.kind)}</span>: '
                    f"{html.escape(problem.student)}, {len(tasks)} tasks ({html.escape(span)})</p>"
                    f"<pre>{html.escape(problem.message)}</pre></div>")
    return body


def _failures_section(report: ClassReport) -> list[str]:
    names, graded = report.task_names(), len(report.graded)
    body = ["<h2>Most common failures per task</h2>"]
    problems = file_problems(report)
    failures = common_failures(report)
    if not failures and not problems:
        return body + ["<p>No task failed.</p>"]
    body += _file_problems_section(problems)
    for task_id, groups in failures.items():
        failing = len({student for group in groups for student in group.students})
        elsewhere = sum(task_id in p.task_ids for p in problems)
        more = f"; {elsewhere} more whose file is listed above" if elsewhere else ""
        body.append(f"<h3>Task {html.escape(task_id)}: {html.escape(names.get(task_id, ''))} "
                    f"({_students(failing, graded)} did not pass{more})</h3>")
        body += [_group(group, graded) for group in groups[:SHOWN_GROUPS]]
        if len(groups) > SHOWN_GROUPS:
            rest = groups[SHOWN_GROUPS:]
            count = len({student for group in rest for student in group.students})
            body.append(f"<details><summary>{len(rest)} other messages ({count} students)</summary>"
                        + "".join(_group(group, graded) for group in rest) + "</details>")
    return body


def _conduct_section(report: ClassReport) -> list[str]:
    rows = []
    for record in report.graded:
        for task in record.result.tasks:
            check = failed_check(task)
            if check in RULE_CHECKS | SPEED_CHECKS:
                kind = "rule" if check in RULE_CHECKS else "speed"
                where = f" ({location(task)})" if location(task) else ""
                rows.append(f"<tr><td>{_link(record)}</td><td>{kind}</td><td>{html.escape(task.id)}{html.escape(where)}</td>"
                            f"<td>{html.escape(_PREFIX.sub('', task.message))}</td></tr>")
        for flag in record.result.flags:
            rows.append(f"<tr><td>{_link(record)}</td><td>flag</td><td></td><td>{html.escape(flag)}</td></tr>")
    body = ["<h2>Rule-breaking, speed and flags</h2>"]
    if not rows:
        return body + ["<p>None.</p>"]
    return body + ["<table><tr><th>Student</th><th>Kind</th><th>Task</th><th>What</th></tr>", *rows, "</table>"]


def _ungraded_section(report: ClassReport) -> list[str]:
    body = ["<h2>Could not be graded</h2>"]
    if not report.ungraded:
        return body + ["<p>Every student was graded.</p>"]
    return body + ["<ul>"] + [f"<li>{_link(r)}: {html.escape(r.error)}</li>" for r in report.ungraded] + ["</ul>"]


def render(report: ClassReport, speed_limits: dict[str, float] | None = None,
           pass_score: PassScore | None = None, *, similar: Similarity | None = None) -> str:
    graded = report.graded
    scores = sorted(r.result.score for r in graded)
    top = max((r.result.max_score for r in graded), default=0)
    median = scores[len(scores) // 2] if scores else 0
    summary = (f"{len(report.records)} entries, {len(graded)} graded, {len(report.ungraded)} not graded. "
               f"Median score {median:g}/{top:g}. Class seed {report.class_seed}.")
    if pass_score is not None:
        passing = sum(pass_score.passed(r.result) for r in graded)
        summary += f" {passing} of {len(report.records)} pass (pass score: {pass_score})."
    body = ["<h1>Class report</h1>", f"<p>{html.escape(summary)}</p>"]
    if graded:
        body += ["<h2>Scores</h2>", _image(plots.score_distribution(report), ""),
                 "<h2>Pass rate per task</h2>", _image(plots.pass_rate(report), "", "Pass rate per task, as a table"),
                 "<h2>Speed ratio per task</h2>",
                 _image(plots.speed_ratio(report, speed_limits or {}),
                        "No speed ratio was measured (no reference solutions beside the grader).",
                        "Speed ratios per task, as a table")]
    body += _ungraded_section(report) + _conduct_section(report) + _failures_section(report)
    body += similarity.section(similar)  # "Similar submissions", when the run compared them
    body += ["<h2>Students</h2>", *_scores_table(report, pass_score)]
    return feedback.page("Class report", body, _STYLE)
