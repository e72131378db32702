"""Nothing secret reaches a student: the answers and the hidden checks, by attack.

A submission's own text reaches its feedback (that is how students see their errors), so
a grader secret is safe only where the child cannot read it. Each file in tests/secrets/
replaces one task cell with a probe (``probe.py``) that tries every way in: reading
``instructor/`` by path (beside the package, at the kit's own path, the package's every
file), importing it (``autograder.instructor``, ``instructor.answers``, the grader's own
loader, ``autograder.checks.HIDDEN``), ``inspect.getsource``, the module, the globals and the
line cache of every object the grader hands the task, ``/proc/<pid>/`` of the parent and of
every process in view (cmdline, environ, cwd, root, fds, mem), and its own ``sys.modules``
and memory (what a fork inherits from the warm server). It raises with what it got, so its
report lands in the task's message.

Graded as an instructor grades (the hidden checks run and the answers stand in), in this
machine's sandbox mode and with layers dropped, each attack gets nothing: no attempt reads
a line of ``instructor/``, no answer is in the child's memory but the stand-ins sent to
that task (or to one graded before it for the same submission), and those show no source
and no other answer through their globals. In a self-check none is sent at all. Every output file of a class run and of the Gradescope
release holds no line of ``instructor/`` that the submissions do not hold themselves.
With the sandbox off the same probe does get the answers: it is not vacuous.
"""
from __future__ import annotations

import ast
import html
import json
import os
import shutil
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import grader_only, sandbox
from autograder.releases import gradescope
from builders import EXERCISES, SEED, SOLUTIONS, Quiet, copy_lessons, lesson_path, replace_task_cell

pytestmark = pytest.mark.redteam

SECRETS_DIR = Path(__file__).parent / "secrets"
INSTRUCTOR = grader_only.folder()
PROBE = (SECRETS_DIR / "probe.py").read_text()
ATTACKS = {re.search(r"^# attacks: (\S+)$", p.read_text(), re.MULTILINE)[1]: p
           for p in sorted(SECRETS_DIR.glob("*_reads_secrets.py"))}
# The stand-ins sent to each attacked task (with what they build on), in instructor grading only.
SENT = {"1.2": set(), "3.14": {"accuracy"}, "4.7": {"TrainEvalCallback", "Callback"},
        "4.9": {"Runner", "_cancelled", "TrainEvalCallback", "Callback", "AvgStats"}}
# What a task may find of the answers in the child's memory: what was sent to it or to a task
# graded before it in the same child (a stand-in may outlive its request as garbage, or kept
# by the submission: the same submission that was handed it), never more.
SEEN = {task: set().union(*[SENT[t] for t in list(SENT)[:index + 1]]) for index, task in enumerate(SENT)}
GRADE = """
import json, sys
from autograder.grading import grade
tasks = sys.argv[3].split(",") if sys.argv[3] else None
print(json.dumps(grade(sys.argv[1], seed=int(sys.argv[2]), task_ids=tasks, hidden=sys.argv[4] == "1").to_json()))
"""
MIN_ATTEMPTS = 60


def _lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines()}


# Lines of instructor/ that the package's public code holds too (and the solutions do not):
# Python's and the checks' vocabulary. Any other such line in the package is a leak (the first test);
# the package itself is not taken as public, or a leak into it would hide its own lines.
SHARED_WITH_PACKAGE = {"from __future__ import annotations", "except TypeError:",
                       'got = t.call("matmul", a, b)["result"]', "a, b = t.randn(*shape_a), t.randn(*shape_b)"}


def public_text(*folders: Path) -> str:
    """What anyone may see: solutions and exercises, and ``folders`` (the submissions of a
    run: a student's own text may reach their feedback)."""
    texts = []
    for folder in (SOLUTIONS, EXERCISES, *folders):
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".ipynb", ".md", ".toml", ".json"):
                texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


def instructor_lines() -> set[str]:
    return {line for path in sorted(INSTRUCTOR.glob("*.py")) for line in _lines(path.read_text()) if len(line) >= 16}


def secret_lines(*submissions: Path) -> set[str]:
    """Lines of ``instructor/`` that occur nowhere in public text or in a submission of the run."""
    public = public_text(*submissions)
    return {line for line in instructor_lines() - SHARED_WITH_PACKAGE if line not in public}


def answer_names() -> list[str]:
    names = []
    for path in sorted(INSTRUCTOR.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.append(node.name)
    return names


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [s for item in items for s in _strings(item)]


def readable_forms(text: str) -> str:
    """``text`` as written, with HTML and XML entities undone, and, if it is JSON, its strings
    decoded: a line escaped on its way into a file is still that line."""
    forms = [text, html.unescape(text)]
    try:
        forms += _strings(json.loads(text))
    except ValueError:
        pass
    return "\n".join(forms)


def leaked(text: str, secrets: set[str]) -> list[str]:
    readable = readable_forms(text)
    return sorted(line for line in secrets if line in readable)


def build_attacks(folder: Path, tasks=tuple(ATTACKS)) -> Path:
    copy_lessons(folder, upto="l04_callbacks")
    probe = (PROBE.replace("__MARKERS__", repr([line.encode().hex() for line in sorted(secret_lines())]))
             .replace("__SECRET_NAMES__", repr(answer_names())).replace("__INSTRUCTOR__", str(INSTRUCTOR)))
    for task in tasks:
        replace_task_cell(lesson_path(folder, task), task, probe + ATTACKS[task].read_text())
    return folder


def grade_in_subprocess(path: Path, *, mode: str | None = None, hidden: bool = True, tasks=tuple(ATTACKS)) -> dict:
    env = dict(os.environ)
    if mode is not None:
        env[sandbox.MODE_ENV] = mode
    done = subprocess.run([sys.executable, "-c", GRADE, str(path), str(SEED), ",".join(tasks), "1" if hidden else "0"],
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0 and done.stdout.strip(), done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def probe_reports(result: dict) -> dict[str, list[dict]]:
    """Task id -> the probe's reports in its rows (the task's, and its hidden checks')."""
    reports: dict[str, list[dict]] = {}
    for row in [*result["tasks"], *result.get("hidden", [])]:
        found = re.search(r"PROBE tried=(\d+) foreign=(\[.*?\]) given=(\[.*?\]) got=(\d+): (.*)", row["message"] or "")
        if found:
            reports.setdefault(row["id"], []).append({
                "tried": int(found[1]), "foreign": set(ast.literal_eval(found[2])),
                "given": set(ast.literal_eval(found[3])), "got": int(found[4]), "what": found[5]})
    return reports


def _modes() -> list[str]:
    """This machine's mode, and the same with a layer dropped: Landlock alone (no namespaces)
    must hide ``instructor/``, and so must the mount view root makes without Landlock (which
    ``required`` does not count as containing files, so only where the mode is not that)."""
    current = os.environ.get(sandbox.MODE_ENV, "auto")
    layers = sandbox.detect()
    modes = [current]
    if layers.active and layers.landlock and layers.namespaces and "-namespaces" not in current:
        modes.append(f"{current} -namespaces")
    if layers.active and layers.landlock and layers.views and not layers.bwrap and not current.startswith("required"):
        modes.append(f"{current} -landlock")
    return modes


@pytest.fixture(scope="module")
def attacks(tmp_path_factory) -> Path:
    return build_attacks(tmp_path_factory.mktemp("secrets") / "mallory")


@pytest.fixture(scope="module")
def instructor_grades(attacks) -> dict[str, dict]:
    return {mode: grade_in_subprocess(attacks, mode=mode) for mode in _modes()}


def test_the_secrets_are_outside_the_package_and_none_of_their_lines_is_in_it():
    assert INSTRUCTOR is not None and (INSTRUCTOR / "answers.py").is_file() and (INSTRUCTOR / "hidden.py").is_file()
    assert not INSTRUCTOR.resolve().is_relative_to(sandbox.PACKAGE_DIR)
    assert grader_only.out_of_reach(INSTRUCTOR) == INSTRUCTOR
    assert len(secret_lines()) >= 20 and {"Runner", "TrainEvalCallback", "matmul_larger_shapes"} <= set(answer_names())
    package = "\n".join(p.read_text(errors="replace") for p in sandbox.PACKAGE_DIR.rglob("*")
                        if p.is_file() and p.suffix != ".pyc")
    public = public_text()
    in_package = {line for line in instructor_lines() if line in package and line not in public}
    assert in_package <= SHARED_WITH_PACKAGE, f"lines of instructor/ in the autograder package: {in_package - SHARED_WITH_PACKAGE}"
    assert set(ATTACKS) == set(SENT)


def test_a_folder_the_child_may_read_is_refused(monkeypatch):
    monkeypatch.setenv(grader_only.INSTRUCTOR_ENV, str(sandbox.PACKAGE_DIR))
    with pytest.raises(grader_only.InReach, match="the sandboxed child may read"):
        grader_only.out_of_reach(sandbox.PACKAGE_DIR / "checks")


@pytest.mark.parametrize("mode_index", range(3))
def test_each_attack_gets_nothing_in_instructor_grading(instructor_grades, mode_index):
    modes = list(instructor_grades)
    if mode_index >= len(modes):
        pytest.skip("this machine has no such mode to drop a layer in")
    mode = modes[mode_index]
    result = instructor_grades[mode]
    reports = probe_reports(result)
    assert set(reports) == set(ATTACKS), f"{mode}: the probe did not report from every attacked task: {result}"
    assert len(reports["1.2"]) == 2, "the hidden check of 1.2 runs the probe too"
    for task, task_reports in reports.items():
        for report in task_reports:
            assert report["tried"] >= MIN_ATTEMPTS, (mode, task, report)
            assert report["got"] == 0, f"{mode}: Task {task} read a secret: {report['what']}"
            assert report["foreign"] <= SEEN[task], f"{mode}: Task {task} found answers not sent to it: {report}"
            assert report["given"] <= SENT[task] | {"re", "torch"}, f"{mode}: {task}: {report}"
    assert reports["4.7"][0]["foreign"] >= SENT["4.7"]  # instructor grading does send the stand-in
    assert reports["4.7"][0]["given"] - {"re", "torch"} == SENT["4.7"]  # and only what it builds on
    assert not leaked(json.dumps(result), secret_lines(SOLUTIONS))


def test_a_self_check_sends_no_answer(attacks):
    reports = probe_reports(grade_in_subprocess(attacks, hidden=False))
    assert set(reports) == set(ATTACKS)
    for task, task_reports in reports.items():
        assert all(r["foreign"] == set() and r["got"] == 0 for r in task_reports), (task, task_reports)


def test_with_the_sandbox_off_the_probe_gets_the_answers(attacks):
    """The probe is not vacuous: with nothing in the way it reads ``instructor/`` (and the
    report, in the message, would carry it to the feedback)."""
    result = grade_in_subprocess(attacks, mode="off", tasks=("1.2",))
    report = probe_reports(result)["1.2"][0]
    assert report["got"] and report["what"].startswith("path "), report
    assert leaked(json.dumps(result), secret_lines(attacks))  # the grep below would see it


def _all_text(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_no_output_file_of_a_class_run_holds_a_secret_line(attacks, tmp_path):
    from autograder.classroom import grade_class

    course = tmp_path / "class"
    course.mkdir()
    shutil.copytree(attacks, course / "mallory")  # a class entry that is a link is refused, never read
    copy_lessons(course / "ada", upto="l04_callbacks")
    out = tmp_path / "out"
    grade_class(course, out=out, jobs=2, seed=SEED, task_ids=list(ATTACKS), progress=Quiet())
    files = _all_text(out)
    feedback = "students/mallory/feedback.md"
    assert feedback in files and "PROBE tried=" in files[feedback]  # the channel works
    secrets = secret_lines(course / "ada", attacks)
    assert len(secrets) >= 20
    found = {name: leaked(text, secrets) for name, text in files.items() if leaked(text, secrets)}
    assert not found, found


def test_no_file_the_gradescope_release_writes_holds_a_secret_line(attacks, tmp_path):
    archive = gradescope.release_gradescope(solutions=SOLUTIONS, destination=tmp_path / "a.zip")
    root = tmp_path / "gradescope"
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(root / "source")
        names = opened.namelist()
    assert "instructor/answers.py" in names and not any(n.startswith("autograder/instructor") for n in names)
    os.chmod(root / "source" / "run_autograder", 0o755)
    copy_lessons(root / "submission", upto="l04_callbacks")
    for task in ATTACKS:
        lesson = lesson_path(attacks, task)
        (root / "submission" / lesson.name).write_text(lesson.read_text())
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    environment.update({gradescope.ROOT_ENV: str(root), "PYTHON": sys.executable})
    completed = subprocess.run([str(root / "source" / "run_autograder")], env=environment, cwd=root,
                               capture_output=True, text=True, timeout=1500)
    assert completed.returncode == 0, completed.stderr[-3000:]
    files = _all_text(root / "results")
    assert "PROBE tried=" in files["results.json"]
    secrets = secret_lines(root / "submission")
    assert len(secrets) >= 20
    found = {name: leaked(text + completed.stdout, secrets) for name, text in files.items()
             if leaked(text + completed.stdout, secrets)}
    assert not found, found
