"""`autograder release`: solutions/ in, exercises/ out, nothing of the answers left."""
from __future__ import annotations

import ast
import importlib.util
import json
import re
from pathlib import Path

import pytest

from autograder.releases import exercises as rel
from autograder.releases.exercises import ReleaseError, release, release_diff, strip_solutions

REPO = Path(__file__).parents[1]

YAML = """\
# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---
"""

LESSON = YAML + '''
# %% [markdown]
# # Lesson 9

# %%
import math

# %% task="9.1"
def lin_grad(inp, out, w, b):
    "Set inp.g, w.g and b.g from out.g, for out = inp @ w + b."
    ### BEGIN SOLUTION
    inp.g = out.g @ w.t()
    w.g = inp.t() @ out.g
    b.g = out.g.sum(0)
    ### END SOLUTION

# %% task="9.2"
class Lin:
    "A linear layer that remembers its input."
    def __init__(self, w, b):
        "Keep the parameters."
        ### BEGIN SOLUTION
        self.w, self.b = w, b
        ### END SOLUTION

    def backward(self):
        "Set the gradients of the input and the parameters."
        ### BEGIN SOLUTION
        lin_grad(self.inp, self.out, self.w, self.b)
        ### END SOLUTION

# %%
if __name__ == "__main__":
    print(math.pi)
'''

STRIPPED = YAML + '''
# %% [markdown]
# # Lesson 9

# %%
import math

# %% task="9.1"
def lin_grad(inp, out, w, b):
    "Set inp.g, w.g and b.g from out.g, for out = inp @ w + b."
    raise NotImplementedError("Task 9.1: implement lin_grad")

# %% task="9.2"
class Lin:
    "A linear layer that remembers its input."
    def __init__(self, w, b):
        "Keep the parameters."
        raise NotImplementedError("Task 9.2: implement Lin.__init__")

    def backward(self):
        "Set the gradients of the input and the parameters."
        raise NotImplementedError("Task 9.2: implement Lin.backward")

# %%
if __name__ == "__main__":
    print(math.pi)
'''


def write_solutions(folder: Path, **lessons: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, text in lessons.items():
        (folder / f"{stem}.py").write_text(text)
    return folder


# --- stripping ------------------------------------------------------------------------


def test_each_region_becomes_one_task_named_raise_and_the_rest_is_kept():
    assert strip_solutions(LESSON, source="l09.py") == STRIPPED


def test_line_endings_outside_regions_are_kept_byte_for_byte():
    crlf = LESSON.replace("\n", "\r\n")
    assert strip_solutions(crlf, source="l09.py") == STRIPPED.replace("\n", "\r\n")


@pytest.mark.parametrize(
    "cell, name",
    [
        ("def relu(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n", "relu"),
        ("def f(\n    a,\n    b,\n):\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION\n", "f"),
        ("def f(x):\n    for i in x:\n        ### BEGIN SOLUTION\n        pass\n        ### END SOLUTION\n", "f"),
        ("class A:\n    class B:\n        def m(self):\n            ### BEGIN SOLUTION\n"
         "            pass\n            ### END SOLUTION\n", "A.B.m"),
        ("class A:\n    def m(self):\n        def g():\n            ### BEGIN SOLUTION\n"
         "            pass\n            ### END SOLUTION\n", "g"),
    ],
    ids=["function", "multi-line signature", "inside a loop", "nested classes", "local function"],
)
def test_the_stub_names_the_enclosing_def(cell, name):
    stripped = strip_solutions(f'# %% task="3.4"\n{cell}', source="l03.py")
    assert f'raise NotImplementedError("Task 3.4: implement {name}")' in stripped
    ast.parse(stripped)


# Each case: the text, the 1-based line the error must point at, the problem it names.
BAD = {
    "nested BEGIN": (
        '# %% task="1.2"\ndef f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n',
        4, "nested",
    ),
    "END without BEGIN": ('# %% task="1.2"\ndef f():\n    "Doc."\n    ### END SOLUTION\n', 4, "without"),
    "unclosed at end of cell": (
        '# %% task="1.2"\ndef f():\n    ### BEGIN SOLUTION\n    pass\n\n# %%\nx = 1\n',
        3, "not closed before the next cell (line 6)",
    ),
    "unclosed at end of file": (
        '# %%\nx = 1\n\n# %% task="1.2"\ndef f():\n    ### BEGIN SOLUTION\n    pass\n',
        6, "not closed before the file ends",
    ),
    "region outside a task cell": (
        '# %% task="1.2"\ndef f():\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n\n'
        '# %%\ndef g():\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n',
        8, "outside a task cell",
    ),
    "region before any cell": ('def g():\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n', 2, "outside a task cell"),
    "region not inside a def": ('# %% task="1.2"\nx = 1\n### BEGIN SOLUTION\n### END SOLUTION\n', 3, "not inside a def"),
    "region in a class body": (
        '# %% task="1.2"\nclass A:\n    ### BEGIN SOLUTION\n    x = 1\n    ### END SOLUTION\n',
        3, "not inside a def",
    ),
    "task cell without a region": ('# %%\nx = 1\n\n# %% task="1.2"\ndef f():\n    return 1\n', 4, "no solution region"),
    "misspelt marker": ('# %% task="1.2"\ndef f():\n    ## BEGIN SOLUTION\n    pass\n', 3, "malformed marker"),
}


@pytest.mark.parametrize("text, line, problem", BAD.values(), ids=BAD.keys())
def test_malformed_solutions_are_refused_at_the_offending_line(text, line, problem):
    with pytest.raises(ReleaseError) as error:
        strip_solutions(text, source="solutions/l01_matmul.py")
    message = str(error.value)
    assert message.startswith(f"solutions/l01_matmul.py:{line}: "), message
    assert problem in message


def test_release_error_is_a_value_error():
    assert issubclass(ReleaseError, ValueError)


# --- release ----------------------------------------------------------------------------


def test_release_writes_python_whose_stubs_raise_the_task_id(tmp_path):
    solutions = write_solutions(tmp_path / "solutions", l09_layers=LESSON)
    written = release(solutions=solutions, exercises=tmp_path / "exercises")

    exercise = tmp_path / "exercises" / "l09_layers.py"
    assert written == [exercise, exercise.with_suffix(".ipynb")]
    ast.parse(exercise.read_text())
    spec = importlib.util.spec_from_file_location("l09_layers", exercise)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(NotImplementedError, match=r"^Task 9\.1: implement lin_grad$"):
        module.lin_grad(None, None, None, None)
    with pytest.raises(NotImplementedError, match=r"^Task 9\.2: implement Lin\.__init__$"):
        module.Lin(1, 2)
    assert module.lin_grad.__doc__.startswith("Set inp.g, w.g and b.g")


def test_the_header_follows_the_yaml_block_or_opens_the_file(tmp_path):
    no_yaml = LESSON[len(YAML) + 1:]
    solutions = write_solutions(tmp_path / "solutions", l09_layers=LESSON, l10_bare=no_yaml)
    release(solutions=solutions, exercises=tmp_path / "exercises")

    header = rel.HEADER.format(source="solutions/l09_layers.py")
    assert (tmp_path / "exercises/l09_layers.py").read_text() == YAML + "\n" + header + STRIPPED[len(YAML):]
    bare = (tmp_path / "exercises/l10_bare.py").read_text()
    assert bare.startswith(rel.HEADER.format(source="solutions/l10_bare.py") + "\n# %% [markdown]\n# # Lesson 9")


def test_the_notebook_opens_with_the_header_and_keeps_task_metadata(tmp_path):
    solutions = write_solutions(tmp_path / "solutions", l09_layers=LESSON)
    release(solutions=solutions, exercises=tmp_path / "exercises")

    cells = json.loads((tmp_path / "exercises/l09_layers.ipynb").read_text())["cells"]
    assert cells[0]["cell_type"] == "markdown"
    assert "Generated from `solutions/l09_layers.py` by `autograder release`" in "".join(cells[0]["source"])
    tasks = {cell["metadata"].get("task"): "".join(cell["source"]) for cell in cells if "task" in cell["metadata"]}
    assert list(tasks) == ["9.1", "9.2"]
    assert 'raise NotImplementedError("Task 9.1: implement lin_grad")' in tasks["9.1"]
    assert "SOLUTION" not in json.dumps(cells)


def test_releasing_twice_gives_identical_bytes(tmp_path):
    solutions = write_solutions(tmp_path / "solutions", l09_layers=LESSON)
    first = {p.name: p.read_bytes() for p in release(solutions=solutions, exercises=tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in release(solutions=solutions, exercises=tmp_path / "b")}
    assert first == second
    assert release_diff(solutions=solutions, exercises=tmp_path / "a") == []


def test_a_malformed_solution_stops_the_release_before_anything_is_written(tmp_path):
    broken = LESSON.replace("    ### END SOLUTION\n\n# %% task=\"9.2\"", "\n# %% task=\"9.2\"")
    solutions = write_solutions(tmp_path / "solutions", l09_good=LESSON, l10_broken=broken)
    with pytest.raises(ReleaseError, match=r"l10_broken\.py:18: "):
        release(solutions=solutions, exercises=tmp_path / "exercises")
    assert not (tmp_path / "exercises").exists()


def test_release_removes_exercises_whose_solution_is_gone_and_nothing_else(tmp_path):
    solutions = write_solutions(tmp_path / "solutions", l09_layers=LESSON)
    exercises = tmp_path / "exercises"
    exercises.mkdir()
    for name in ("l08_old.py", "l08_old.ipynb", "README.md", "helpers.py"):
        (exercises / name).write_text("x")
    release(solutions=solutions, exercises=exercises)
    assert sorted(p.name for p in exercises.iterdir()) == ["README.md", "helpers.py", "l09_layers.ipynb", "l09_layers.py"]


def test_an_empty_solutions_folder_is_refused_rather_than_wiping_exercises(tmp_path):
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises/l09_layers.py").write_text("x")
    with pytest.raises(FileNotFoundError):
        release(solutions=tmp_path / "missing", exercises=tmp_path / "exercises")
    assert (tmp_path / "exercises/l09_layers.py").exists()


def test_release_diff_names_edited_missing_and_stale_files(tmp_path):
    solutions = write_solutions(tmp_path / "solutions", l09_layers=LESSON, l10_more=LESSON)
    exercises = tmp_path / "exercises"
    release(solutions=solutions, exercises=exercises)
    assert release_diff(solutions=solutions, exercises=exercises) == []

    with (exercises / "l09_layers.py").open("a") as edited:
        edited.write("# hand edit\n")
    (exercises / "l10_more.ipynb").unlink()
    (exercises / "l08_old.py").write_text("x")
    assert release_diff(solutions=solutions, exercises=exercises) == ["l08_old.py", "l09_layers.py", "l10_more.ipynb"]


# --- the repository's own exercises -----------------------------------------------------

SOLUTIONS, EXERCISES = REPO / "solutions", REPO / "exercises"
needs_solutions = pytest.mark.skipif(
    not list(SOLUTIONS.glob("l*.py")), reason=f"no lesson files (l*.py) in {SOLUTIONS} yet"
)


def solution_only_lines(lessons=("l",)) -> set[str]:
    """Non-trivial lines that occur inside solution regions and nowhere else in solutions/
    (of the lessons whose file names start with one of ``lessons``)."""
    inside, outside = set(), set()
    for path in (p for p in SOLUTIONS.glob("l*.py") if p.name.startswith(tuple(lessons))):
        in_region = False
        for line in path.read_text().splitlines():
            marker = line.strip()
            if marker in (rel.BEGIN, rel.END):
                in_region = marker == rel.BEGIN
            elif re.search(r"\w", marker) and not _BARE_KEYWORD.fullmatch(marker):
                (inside if in_region else outside).add(marker)
    return inside - outside


_BARE_KEYWORD = re.compile(r"(finally|else|try|pass|return|break|continue|return True|return False)\s*:?")


def exercise_lines() -> dict[str, list[str]]:
    files = {}
    for path in sorted(EXERCISES.glob("l*.py")):
        files[path.name] = path.read_text().splitlines()
    for path in sorted(EXERCISES.glob("l*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        files[path.name] = [line for cell in cells for line in "".join(cell["source"]).splitlines()]
    return files


@needs_solutions
def test_committed_exercises_equal_a_fresh_release():
    drift = release_diff(solutions=SOLUTIONS, exercises=EXERCISES)
    assert drift == [], f"exercises/ is out of date ({', '.join(drift)}); run `autograder release`"


@needs_solutions
def test_no_marker_and_no_solution_line_survives_in_exercises():
    secret = solution_only_lines()
    assert secret, "the solutions have no solution regions"
    for name, lines in exercise_lines().items():
        for number, line in enumerate(lines, 1):
            assert "BEGIN SOLUTION" not in line and "END SOLUTION" not in line, f"{name}:{number}: {line}"
            assert line.strip() not in secret, f"{name}:{number}: solution line leaked: {line.strip()}"


@needs_solutions
def test_exercises_are_valid_python():
    for path in sorted(EXERCISES.glob("l*.py")):
        ast.parse(path.read_text(), filename=str(path))
