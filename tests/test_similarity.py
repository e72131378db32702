"""Similar submissions: who shares task code with whom, what does not count, what the report shows.

Students are jobs built from the reference lessons with a few task cells written their
own way; the comparison reads them as the class run does (in its own process, without
grading), so these tests need no sandbox.
"""
from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path

import pytest

from autograder.classroom import entries
from autograder.classroom import run as class_run
from autograder.classroom.entries import Job
from autograder.classroom.record import ClassReport
from autograder.outputs import class_report
from autograder.outputs import similarity as similarity_output
from autograder.similarity import fingerprints, pairs, task_code
from builders import EXERCISES, SOLUTIONS, replace_task_cell

LESSON_02 = "l02_fully_connected.py"

# Task 2.11 and 2.12 written a student's own way (not the reference's code).
OWN_LIN_GRAD = '''def lin_grad(inp, out, w, b):
    "Set inp.g, w.g and b.g."
    grad_inp = out.g @ w.t()
    inp.g = grad_inp.clone()
    outer = [inp[i].unsqueeze(-1) * out.g[i].unsqueeze(0) for i in range(inp.shape[0])]
    w.g = torch.stack(outer, dim=0).sum(dim=0)
    b.g = out.g.sum(dim=0).clone()
'''
OWN_FORWARD_BACKWARD = '''def forward_and_backward(inp, targ, w1, b1, w2, b2):
    hidden_pre = inp @ w1 + b1
    hidden = relu(hidden_pre)
    prediction = hidden @ w2 + b2
    total = mse(prediction, targ)
    mse_grad(prediction, targ)
    lin_grad(hidden, prediction, w2, b2)
    relu_grad(hidden_pre, hidden)
    lin_grad(inp, hidden_pre, w1, b1)
    return total
'''
# The same code disguised: names renamed, comments and a docstring added, lines reflowed.
COPIED_LIN_GRAD = '''def lin_grad(x, y, weights, bias):
    """Backward of a linear layer:
    fills in the gradients."""
    g_x = y.g @ weights.t()   # the input's gradient
    x.g = g_x.clone()

    # one outer product per row
    pieces = [x[n].unsqueeze(-1) * y.g[n].unsqueeze(0)
              for n in range(x.shape[0])]
    weights.g = torch.stack(pieces, dim = 0).sum(dim = 0)
    bias.g = y.g.sum(dim=0).clone()
'''
COPIED_FORWARD_BACKWARD = '''def forward_and_backward(a, t, p1, q1, p2, q2):
    # forward
    z = a @ p1 + q1
    h = relu(z)
    yhat = h @ p2 + q2
    value = mse(yhat, t)
    # backward
    mse_grad(yhat, t); lin_grad(h, yhat, p2, q2)
    relu_grad(z, h)
    lin_grad(a, z, p1, q1)
    return value
'''
# Independent answers to the same tasks, written another way.
OTHER_LIN_GRAD = '''def lin_grad(inp, out, w, b):
    inp.g = torch.einsum("bj,ij->bi", out.g, w)
    w.g = torch.einsum("bi,bj->ij", inp, out.g)
    b.g = torch.einsum("bj->j", out.g)
'''
OTHER_FORWARD_BACKWARD = '''def forward_and_backward(inp, targ, w1, b1, w2, b2):
    activations = [inp]
    activations.append(lin(activations[-1], w1, b1))
    activations.append(relu(activations[-1]))
    activations.append(lin(activations[-1], w2, b2))
    result = mse(activations[-1], targ)
    mse_grad(activations[3], targ)
    lin_grad(activations[2], activations[3], w2, b2)
    relu_grad(activations[1], activations[2])
    lin_grad(activations[0], activations[1], w1, b1)
    return result
'''


@pytest.fixture(scope="module")
def course():
    return task_code.course_code()


def _lesson(tmp_path: Path, name: str, cells: dict[str, str], source: Path = SOLUTIONS) -> str:
    path = tmp_path / f"{name}-{LESSON_02}"
    path.write_text((source / LESSON_02).read_text())
    for task_id, code in cells.items():
        replace_task_cell(path, task_id, code)
    return path.read_text()


def _job(student: str, files: dict[str, str], single: str = "") -> Job:
    return Job(student=student, source=single or student, name=student, single=single,
               files={name: text.encode() for name, text in files.items()})


def _notebook(text: str, reverse: bool = False) -> str:
    """A percent-format lesson as a notebook of plain code cells (no task metadata)."""
    cells = [cell.split("\n", 1)[1] if "\n" in cell else "" for cell in re.split(r"^# %%", text, flags=re.M)[1:]]
    code = [c for c in cells if c.strip() and not c.lstrip().startswith("# ")]
    code = [c for c in code if "def " in c or "class " in c or "import" in c]
    if reverse:  # the same definitions in another order of cells (imports stay first)
        code = [c for c in code if "import" in c] + [c for c in reversed(code) if "import" not in c]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                                  "source": c} for c in code]})


def _pairs(result) -> dict[frozenset, pairs.Pair]:
    assert not result.error, result.error
    return {frozenset({p.name_a, p.name_b}): p for p in result.pairs}


def test_a_disguised_copy_is_flagged_with_its_tasks_and_lines(tmp_path, course):
    ada = _lesson(tmp_path, "ada", {"2.11": OWN_LIN_GRAD, "2.12": OWN_FORWARD_BACKWARD})
    ben = _lesson(tmp_path, "ben", {"2.11": COPIED_LIN_GRAD, "2.12": COPIED_FORWARD_BACKWARD})
    cy = _lesson(tmp_path, "cy", {"2.11": OTHER_LIN_GRAD, "2.12": OTHER_FORWARD_BACKWARD})
    jobs = [_job("ada", {LESSON_02: ada}),
            _job("ben", {"02_fully_connected.ipynb": _notebook(ben, reverse=True)}),  # a notebook, cells reordered
            _job("cy", {LESSON_02: cy})]
    result = pairs.compare_jobs(jobs, course)
    found = _pairs(result)
    assert set(found) == {frozenset({"ada", "ben"})}  # cy answered the same tasks on her own
    pair = found[frozenset({"ada", "ben"})]
    assert [t.task_id for t in pair.tasks] == ["2.11", "2.12"]
    assert pair.fraction_a > 0.9 and pair.fraction_b > 0.9
    lin_grad = pair.tasks[0]
    side_a, side_b = (lin_grad.lines_a, lin_grad.lines_b) if pair.name_a == "ada" else (lin_grad.lines_b, lin_grad.lines_a)
    ada_shared = {text.strip() for _, text, shared in side_a if shared}
    ben_shared = {text.strip() for _, text, shared in side_b if shared}
    assert "w.g = torch.stack(outer, dim=0).sum(dim=0)" in ada_shared
    assert "weights.g = torch.stack(pieces, dim = 0).sum(dim = 0)" in ben_shared
    assert not any(text.startswith("#") for text in ben_shared)  # comments are not shared code
    first = next(number for number, text, _ in side_a if "grad_inp = out.g @ w.t()" in text)
    assert (tmp_path / f"ada-{LESSON_02}").read_text().split("\n")[first - 1].strip() == "grad_inp = out.g @ w.t()"
    assert result.compared == 3 and result.candidates >= 1


def test_the_course_code_and_the_stubs_never_count(tmp_path, course):
    stubs = (EXERCISES / LESSON_02).read_text()
    reference = (SOLUTIONS / LESSON_02).read_text()
    jobs = [_job(f"stub{n}", {LESSON_02: stubs}) for n in range(3)]  # filled in nothing
    jobs += [_job(f"ref{n}", {LESSON_02: reference}) for n in range(3)]  # the course's answers, every task
    jobs += [_job("nb", {"02_fully_connected.ipynb": _notebook(reference)})]
    result = pairs.compare_jobs(jobs, course)
    assert _pairs(result) == {} and result.compared == 7 and result.candidates == 0
    codes = task_code.job_code(jobs[0], course.library)
    assert codes == {}  # every task is still the release's stub


def test_a_short_answer_in_common_is_not_enough(tmp_path, course):
    """Two students who both wrote the same one-line function (not the course's) are not a pair."""
    one_liner = 'def relu(x):\n    return torch.where(x > 0, x, torch.zeros_like(x))\n'
    ada = _lesson(tmp_path, "ada", {"2.4": one_liner})
    ben = _lesson(tmp_path, "ben", {"2.4": one_liner.replace("x", "inp")})
    code = task_code.job_code(_job("ada", {LESSON_02: ada}), course.library)["2.4"]
    assert fingerprints.K <= len(code.tokens) < pairs.MIN_TASK_TOKENS  # long enough to fingerprint
    assert _pairs(pairs.compare_jobs([_job("ada", {LESSON_02: ada}), _job("ben", {LESSON_02: ben})], course)) == {}


def test_one_students_twins_are_not_a_pair(tmp_path, course):
    ada = _lesson(tmp_path, "ada", {"2.11": OWN_LIN_GRAD, "2.12": OWN_FORWARD_BACKWARD})
    notebook = _notebook(ada)
    jobs = [_job("ada", {LESSON_02: ada, "l02_fully_connected.ipynb": notebook}),  # a folder with both
            Job(student="mo", source="mo.py", name="mo", single="mo.py", files={"mo.py": ada.encode()}),
            Job(student="mo-1a2b", source="mo.ipynb", name="mo", single="mo.ipynb",
                files={"mo.ipynb": notebook.encode()})]  # mo.py and mo.ipynb: two entries of one student
    found = _pairs(pairs.compare_jobs(jobs, course))
    assert frozenset({"mo"}) not in found and len(found) == 1  # ada and mo are still a pair
    (pair,) = found.values()
    assert {pair.student_a, pair.student_b} in ({"ada", "mo"}, {"ada", "mo-1a2b"})


def test_broken_submissions_are_skipped_with_the_reason(tmp_path, course):
    ada = _lesson(tmp_path, "ada", {"2.11": OWN_LIN_GRAD, "2.12": OWN_FORWARD_BACKWARD})
    jobs = [_job("ada", {LESSON_02: ada}), _job("ben", {LESSON_02: ada}),
            _job("cut", {"02_fully_connected.ipynb": '{"cells": [{"cell_type": "code", "sour'}),
            _job("bytes", {LESSON_02: "def lin_grad(\x00\xff\n"}),
            _job("deep", {LESSON_02: "x = " + "(" * 5000 + ")" * 5000 + "\n"}),
            _job("empty", {"notes.txt": "nothing"}),
            Job(student="gone", source="gone", name="gone", problem="gone: could not be read")]
    result = pairs.compare_jobs(jobs, course)
    assert set(_pairs(result)) == {frozenset({"ada", "ben"})}
    skipped = dict(result.skipped)
    assert set(skipped) <= {"cut", "bytes", "deep", "empty"} and "empty" in skipped
    assert "holds no notebook or Python file" in skipped["empty"] and "/tmp" not in skipped["empty"]
    assert "gone" not in skipped  # not graded either: listed once, under "could not be graded"


def test_a_failure_of_the_comparison_leaves_the_report_whole(tmp_path, course, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("index exploded")

    monkeypatch.setattr(pairs, "compare", broken)
    result = pairs.compare_jobs([_job("ada", {LESSON_02: (SOLUTIONS / LESSON_02).read_text()})], course)
    assert result.error == "RuntimeError: index exploded" and result.pairs == []
    page = class_report.render(ClassReport(1, []), similar=result)
    assert "could not be compared: RuntimeError: index exploded" in page


def test_a_reader_failure_on_one_submission_skips_only_it(tmp_path, course, monkeypatch):
    ada = _lesson(tmp_path, "ada", {"2.11": OWN_LIN_GRAD, "2.12": OWN_FORWARD_BACKWARD})
    jobs = [_job("ada", {LESSON_02: ada}), _job("ben", {LESSON_02: ada}), _job("odd", {LESSON_02: ada})]
    read = task_code.job_code

    def fails_on_odd(job, library):
        if job.student == "odd":
            raise AttributeError("'NoneType' object has no attribute 'lineno'")
        return read(job, library)

    monkeypatch.setattr(pairs, "job_code", fails_on_odd)
    result = pairs.compare_jobs(jobs, course)
    assert set(_pairs(result)) == {frozenset({"ada", "ben"})} and result.compared == 2
    assert result.skipped == [("odd", pairs.READER_FAILED.format(
        reason="AttributeError: 'NoneType' object has no attribute 'lineno'"))]


def _section(page: str) -> str:
    return page[page.index("<h2>Similar submissions</h2>"):page.index("</section>")]


def test_the_report_and_the_csv_show_the_pairs_escaped(tmp_path, course):
    hostile = OWN_LIN_GRAD.replace('"Set inp.g, w.g and b.g."', "").replace(
        "grad_inp = out.g @ w.t()", "grad_inp = out.g @ w.t() if '<script>' else None")
    ada = _lesson(tmp_path, "ada", {"2.11": hostile, "2.12": OWN_FORWARD_BACKWARD})
    jobs = [_job("=ada", {LESSON_02: ada}), _job("<b>ben", {LESSON_02: ada})]
    result = pairs.compare_jobs(jobs, course)
    class_run.write_class_files(tmp_path, ClassReport(1, []), similar=result)
    section = _section((tmp_path / class_report.FILENAME).read_text())
    assert "<script>" not in section and "&lt;script&gt;" in section and "&lt;b&gt;ben" in section
    assert section.count("<mark>") >= 10 and "Task 2.11" in section and "Task 2.12" in section
    rows = list(csv.DictReader(io.StringIO((tmp_path / similarity_output.FILENAME).read_text())))
    assert len(rows) == 1 and rows[0]["tasks"] == "2.11 2.12" and {rows[0]["student_a"], rows[0]["student_b"]} == \
        {"'=ada", "<b>ben"}
    assert float(rows[0]["shared_a"]) == pytest.approx(1.0) and int(rows[0]["shared_tokens"]) >= pairs.MIN_PAIR_TOKENS
    lines = r"2\.11 l02_fully_connected\.py, line (\d+): \1, [\d, -]+ \| 2\.12 l02_fully_connected\.py, line \d+: [\d, -]+"
    assert re.fullmatch(lines, rows[0]["lines_a"]), rows[0]["lines_a"]  # the def line, then the blank line skipped


def test_no_pair_says_so(tmp_path, course):
    result = pairs.compare_jobs([_job("ada", {LESSON_02: (SOLUTIONS / LESSON_02).read_text()})], course)
    class_run.write_class_files(tmp_path, ClassReport(1, []), similar=result)
    assert "No pair of submissions is above the threshold." in (tmp_path / class_report.FILENAME).read_text()
    assert (tmp_path / similarity_output.FILENAME).read_text().strip() == ",".join(similarity_output.COLUMNS)
    assert "Similar submissions" not in class_report.render(ClassReport(1, []))  # not compared: no section


def test_the_common_code_of_a_large_class_does_not_count(course):
    """A k-gram held by more than ``common_limit`` students is common knowledge (MOSS's -m)."""
    own = "\n".join(f"    v{n} = w.g[{n}] * out.g.sum() + {n}" for n in range(8))
    code = f"def lin_grad(inp, out, w, b):\n{own}\n"
    lesson = (SOLUTIONS / LESSON_02).read_text()
    start = lesson.index("def lin_grad")
    end = lesson.index("# %%", start)
    text = lesson[:start] + code + "\n\n" + lesson[end:]
    count = pairs.common_limit(0) + 1
    jobs = [_job(f"s{n}", {LESSON_02: text}) for n in range(count)]
    assert _pairs(pairs.compare_jobs(jobs, course)) == {}
    assert len(_pairs(pairs.compare_jobs(jobs[:2], course))) == 1  # two of them alone are a pair


def test_normalising_ignores_names_layout_comments_and_docstrings():
    plain = "def f(a, b):\n    c = a @ b.t()\n    return c.sum(0) * 2.\n"
    disguised = ('def g(x,\n      y):\n    """Docs."""\n    # a comment\n    tmp = x@y.t()  # inline\n\n'
                 "    return tmp.sum(0)*2.0\n")
    assert [t for t, _ in fingerprints.tokens(plain)] == [t for t, _ in fingerprints.tokens(disguised)]
    assert [t for t, _ in fingerprints.tokens("y = torch.einsum('ij->j', x)", frozenset({"torch"}))] == \
        ["V", "=", "torch", ".", "einsum", "(", "S", ",", "V", ")"]
    assert fingerprints.tokens("def broken(:\n  'unterminated")  # what came before the error counts


def test_winnowing_keeps_a_fingerprint_of_every_long_enough_run():
    import random

    rng = random.Random(3)
    for _ in range(200):
        shared = [str(rng.randint(0, 50)) for _ in range(fingerprints.K + fingerprints.W - 1)]
        left = [str(rng.randint(0, 50)) for _ in range(rng.randint(0, 30))] + shared
        right = shared + [str(rng.randint(0, 50)) for _ in range(rng.randint(0, 30))]
        picked = [set(h[i] for i in fingerprints.winnow(h)) for h in map(fingerprints.kgram_hashes, (left, right))]
        assert picked[0] & picked[1]


def test_code_the_class_was_given_does_not_count(tmp_path):
    """``[similarity] given`` in the class folder's autograder.toml: the course's notebooks, a handout."""
    ada = _lesson(tmp_path, "ada", {"2.11": OWN_LIN_GRAD, "2.12": OWN_FORWARD_BACKWARD})
    jobs = [_job("ada", {LESSON_02: ada}), _job("ben", {LESSON_02: ada})]
    class_dir = tmp_path / "class"
    (class_dir / "handout").mkdir(parents=True)
    (class_dir / "handout" / "lesson2.ipynb").write_text(_notebook(ada))
    (class_dir / "autograder.toml").write_text('[similarity]\ngiven = ["handout", "nowhere"]\n')
    result = pairs.compare_jobs(jobs, class_dir=class_dir)
    assert _pairs(result) == {} and "handout" in result.course
    assert result.problems == [task_code.GIVEN_MISSING.format(path="nowhere")]
    assert "Given code not read: given code &#x27;nowhere&#x27;" in "".join(similarity_output.section(result))
    (class_dir / "autograder.toml").write_text("[similarity]\ngiven = 3\n")
    result = pairs.compare_jobs(jobs, class_dir=class_dir)
    assert len(_pairs(result)) == 1 and result.problems == [task_code.GIVEN_NOT_PATHS.format(value=3)]


def test_without_the_kits_course_code_the_report_warns(tmp_path):
    """Graded from an install without solutions/ and exercises/, shared course code may be listed: say so."""
    course = task_code.course_code(solutions=tmp_path / "none", exercises=tmp_path / "none")
    assert course.sources == () and not course.kgrams
    reference = (SOLUTIONS / LESSON_02).read_text()
    result = pairs.compare_jobs([_job("ada", {LESSON_02: reference}), _job("ben", {LESSON_02: reference})], course)
    assert len(_pairs(result)) == 1  # the reference answers, shared
    page = "".join(similarity_output.section(result))
    assert html.escape(similarity_output.NO_KIT_CODE.format(folders="solutions/ and exercises/")) in page
    assert "could not be found" not in "".join(similarity_output.section(pairs.compare_jobs([], None)))


def test_the_same_class_gives_the_same_page(tmp_path, course):
    """A second run that grades nothing rewrites the class files byte for byte."""
    ada = _lesson(tmp_path, "ada", {"2.11": OWN_LIN_GRAD, "2.12": OWN_FORWARD_BACKWARD})
    jobs = [_job("ada", {LESSON_02: ada}), _job("ben", {LESSON_02: ada})]
    first, second = pairs.compare_jobs(jobs, course), pairs.compare_jobs(jobs, course)
    first.seconds, second.seconds = 0.25, 31.5  # how long it took is not on the page
    assert "".join(similarity_output.section(first)) == "".join(similarity_output.section(second))
    assert similarity_output.render_csv(first) == similarity_output.render_csv(second)
