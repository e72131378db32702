"""``report.html``: the instructor's page for a class run, one self-contained file.

Scores, the plots (``plots``, embedded as base64 PNG), the most common failure messages
per task (how many students, which ones), rule-breaking, speed failures and flags, and
the students who could not be graded, and the pairs of similar submissions (``similarity``).
"""
from __future__ import annotations

import base64
import html
import re
from urllib.parse import quote
from collections import defaultdict

from autograder.classroom.passing import PassScore
from autograder.classroom.record import ClassReport, StudentRecord, location
from autograder.outputs import feedback, plots, similarity
from autograder.results import PASSED
from autograder.similarity.pairs import Similarity

FILENAME = "report.html"
_PREFIX = re.compile(r"^Task [\w.]+ \(.*?\): ")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e-?\d+)?(?![\w])")
_EDIT = re.compile(r" Edit [^.]* in [^ ]+\.$")
RULE_CHECKS = {"rules"}
SPEED_CHECKS = {"speed", "speed (work)", "speed (memory)", "speed (time)"}  # as speed.py and the checks name them

_STYLE = feedback._STYLE.replace("max-width:60rem", "max-width:72rem") + """
details{margin:.3rem 0}summary{cursor:pointer}.count{font-weight:bold}img{max-width:100%}
.grid td:nth-child(n+2){text-align:right}"""


def failure_pattern(message: str) -> str:
    """A failure message with what differs between students taken out: numbers, the file to edit."""
    text = _EDIT.sub("", _PREFIX.sub("", message.strip()))
    return _NUMBER.sub("…", text)


def failed_check(task) -> str:
    return next((check.name for check in task.checks if not check.passed), "")


def common_failures(report: ClassReport) -> dict[str, list[tuple[str, list[str]]]]:
    """Task id -> [(pattern, students)], most common first."""
    grouped: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for record in report.graded:
        for task in record.result.tasks:
            if task.status != PASSED:
                grouped[task.id][failure_pattern(task.message)].append(record.name)
    return {task_id: sorted(grouped[task_id].items(), key=lambda item: (-len(item[1]), item[0]))
            for task_id in report.task_ids() if task_id in grouped}


def _image(png: bytes | None, alternative: str) -> str:
    if png is None:
        return f"<p class=\"small\">{html.escape(alternative)}</p>"
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alternative)}" src="data:image/png;base64,{encoded}">'


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


def _failures_section(report: ClassReport) -> list[str]:
    names = report.task_names()
    body = ["<h2>Most common failures per task</h2>"]
    failures = common_failures(report)
    if not failures:
        return body + ["<p>No task failed.</p>"]
    for task_id, groups in failures.items():
        total = sum(len(students) for _, students in groups)
        body.append(f"<h3>Task {html.escape(task_id)}: {html.escape(names.get(task_id, ''))} "
                    f"({total} of {len(report.graded)} students)</h3>")
        for pattern, students in groups[:5]:
            body.append(f"<details><summary><span class=\"count\">{len(students)}×</span> "
                        f"{html.escape(pattern[:300])}</summary><p>{', '.join(html.escape(s) for s in students)}</p>"
                        "</details>")
        if len(groups) > 5:
            body.append(f"<p class=\"small\">and {len(groups) - 5} other messages</p>")
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
        body += ["<h2>Scores</h2>", _image(plots.score_distribution(report), "score distribution"),
                 "<h2>Pass rate per task</h2>", _image(plots.pass_rate(report), "pass rate per task"),
                 "<h2>Speed ratio per task</h2>",
                 _image(plots.speed_ratio(report, speed_limits or {}),
                        "no speed ratio was measured (no reference solutions beside the grader)")]
    body += _ungraded_section(report) + _conduct_section(report) + _failures_section(report)
    body += similarity.section(similar)  # "Similar submissions", when the run compared them
    body += ["<h2>Students</h2>", *_scores_table(report, pass_score)]
    return feedback.page("Class report", body, _STYLE)
