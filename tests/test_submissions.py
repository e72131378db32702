"""Whole submissions: the reference, the untouched stubs, and lessons written the course's way."""
from __future__ import annotations

import re
import shutil
import textwrap

import pytest

from autograder.results import FAILED, PASSED
from autograder.tasks import TASKS
from builders import (
    EXERCISES, SOLUTIONS, Submissions, assert_outcome, by_id, copy_lessons, describe, replace_task_cell, task_ids,
)
from course_notebooks import (
    BATCH_COUNT_AVERAGES, CNN_HOOKS_06, COURSE_DIFFERENCES, FIRST_LIN_W_GRAD, NOTEBOOKS, THIRD_LIN_W_GRAD,
    WEIGHTED_AVERAGES, write_course_notebooks, write_notebook,
)

ALL_TASKS = list(TASKS)
submissions = Submissions()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    with submissions.grading(tmp_path_factory.mktemp("submissions")) as result:
        yield result


@submissions.register
def reference(folder):
    return SOLUTIONS


@submissions.register
def untouched_exercises(folder):
    return EXERCISES


@submissions.register
def course_notebooks(folder):
    return write_course_notebooks(folder)


@submissions.register
def course_notebooks_first_lin_w_grad_transposed(folder):
    broken = FIRST_LIN_W_GRAD.replace("(self.inp.unsqueeze(-1) * self.out.g.unsqueeze(1))",
                                      "(self.out.g.unsqueeze(-1) * self.inp.unsqueeze(1))")
    return write_course_notebooks(folder, {FIRST_LIN_W_GRAD: broken}) / "02_fully_connected.ipynb"


@submissions.register
def course_notebooks_third_lin_w_grad_transposed(folder):
    broken = THIRD_LIN_W_GRAD.replace("inp.t() @ out.g", "out.g.t() @ inp")
    return write_course_notebooks(folder, {THIRD_LIN_W_GRAD: broken}) / "02_fully_connected.ipynb"


@submissions.register
def course_notebooks_averaging_batch_means(folder):
    changed = write_course_notebooks(folder, {WEIGHTED_AVERAGES: BATCH_COUNT_AVERAGES})
    return changed / "03_minibatch_training.ipynb"


LESSONS_04_05 = task_ids("l04_callbacks") + task_ids("l05_anneal")


@submissions.register(task_ids=LESSONS_04_05)
def kit_lessons_without_task_metadata(folder):
    """The kit's lessons with the task ids taken off the cells: found by name and order, so
    lesson 04's Runner is 4.7 and lesson 05's (another file) 5.9."""
    copy_lessons(folder)
    for path in folder.glob("l*.py"):
        path.write_text(re.sub(r'^# %% task="[\d.]+"', "# %%", path.read_text(), flags=re.MULTILINE))
    return folder


@submissions.register(task_ids=task_ids("l06_cnn_hooks"))
def course_notebook_06_with_only_the_later_cnns(folder):
    """The first get_cnn_model and get_cnn_layers left out: the two later models are still 6.7's
    and 6.13's, told apart by what they take."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, sources in NOTEBOOKS.items():
        if name.startswith("06"):
            sources = [c for c in CNN_HOOKS_06 if "def get_cnn_model(data):" not in c
                       and "def get_cnn_layers(data, nfs):" not in c]
        write_notebook(folder / name, sources)
    return folder


# The course's first CudaCallback, which takes its device and moves with .to(device).
CUDA_WITH_A_DEVICE = """class CudaCallback(Callback):
    def __init__(self, device): self.device = device
    def begin_fit(self): self.model.to(self.device)
    def begin_batch(self): self.run.xb, self.run.yb = self.xb.to(self.device), self.yb.to(self.device)
"""


@submissions.register(task_ids=["6.5"])
def cuda_callback_with_a_device(folder):
    copy_lessons(folder)
    return replace_task_cell(folder / "l06_cnn_hooks.py", "6.5", CUDA_WITH_A_DEVICE)


PLAIN_MODULE_01 = '''\
"""Lesson 01 as a plain module: no cell markers, exploration at the top level."""
import gzip
import pickle

import torch
from torch import tensor

from l00_exports import test


def get_data(path):
    with gzip.open(path, "rb") as f:
        ((x_train, y_train), (x_valid, y_valid), _) = pickle.load(f, encoding="latin-1")
    return map(tensor, (x_train, y_train, x_valid, y_valid))


x_train, y_train, x_valid, y_valid = get_data("mnist.pkl.gz")
weights = torch.randn(784, 10)
m1, m2 = x_valid[:5], weights


def matmul(a, b):
    ar, ac = a.shape
    br, bc = b.shape
    assert ac == br
    c = torch.zeros(ar, bc)
    for i in range(ar):
        for j in range(bc):
            for k in range(ac):
                c[i, j] += a[i, k] * b[k, j]
    return c


t1 = matmul(m1, m2)
print(t1.shape)


def frobenius(a):
    return (a * a).sum().sqrt()


def matmul(a, b):
    ar, ac = a.shape
    br, bc = b.shape
    assert ac == br
    c = torch.zeros(ar, bc)
    for i in range(ar):
        for j in range(bc):
            c[i, j] = (a[i, :] * b[:, j]).sum()
    return c


def near(a, b):
    return torch.allclose(a, b, rtol=1e-3, atol=1e-5)


def test_near(a, b):
    test(a, b, near)


test_near(t1, matmul(m1, m2))


def matmul(a, b):
    ar, ac = a.shape
    br, bc = b.shape
    assert ac == br
    c = torch.zeros(ar, bc)
    for i in range(ar):
        c[i] = (a[i].unsqueeze(-1) * b).sum(dim=0)
    return c


def matmul(a, b):
    return torch.einsum("ik,kj->ij", a, b)


def matmul(a, b):
    return a.matmul(b)


if __name__ == "__main__":
    test_near(t1, matmul(m1, m2))
'''


@submissions.register
def plain_module_01(folder):
    copy_lessons(folder, upto="l00_exports")
    path = folder / "l01_matmul.py"
    path.write_text(PLAIN_MODULE_01)
    return path


def test_reference_solutions_score_full_marks(graded):
    result = graded(reference)
    assert_outcome(result, {}, ALL_TASKS)
    assert result.score == result.max_score == len(TASKS)


def test_untouched_exercises_score_zero(graded):
    result = graded(untouched_exercises)
    assert [t.id for t in result.tasks] == ALL_TASKS
    assert result.score == 0, describe(result)
    for task in result.tasks:
        assert task.status == FAILED and "not implemented" in task.message, describe(result)
        assert task.message.startswith(f"Task {task.id} ("), task.message


def test_course_style_notebooks_score_full_marks_but_where_the_course_differs(graded):
    result = graded(course_notebooks)
    assert_outcome(result, {task_id: FAILED for task_id in COURSE_DIFFERENCES}, ALL_TASKS)
    assert result.score == result.max_score - len(COURSE_DIFFERENCES) == len(TASKS) - len(COURSE_DIFFERENCES)
    for task_id, words in COURSE_DIFFERENCES.items():
        assert words in by_id(result)[task_id].message, by_id(result)[task_id].message


def test_versions_of_get_cnn_model_are_told_apart_by_what_they_take(graded):
    result = by_id(graded(course_notebook_06_with_only_the_later_cnns))
    assert result["6.4"].status != PASSED and "get_cnn_model" in result["6.4"].message
    assert result["6.7"].status != PASSED and "get_cnn_layers" in result["6.7"].message
    for task_id in ("6.13", "6.9"):
        assert result[task_id].status == PASSED, result[task_id].message
    assert result["6.13"].location.startswith("06_cuda_cnn_hooks_init.ipynb")


def test_the_course_s_first_cuda_callback_passes_by_what_it_moves(graded):
    result = graded(cuda_callback_with_a_device)
    assert_outcome(result, {}, ["6.5"])


def test_the_course_mean_of_batch_means_costs_3_14_only(graded):
    result = graded(course_notebooks_averaging_batch_means)
    assert_outcome(result, {"3.14": FAILED}, task_ids("l03_minibatch_training"))
    assert "weigh each batch by its size" in by_id(result)["3.14"].message


def test_a_bug_in_the_first_lin_costs_2_13_only(graded):
    # the later Module-based Lin classes (2.16, 2.17) must not mask it, nor inherit it
    result = graded(course_notebooks_first_lin_w_grad_transposed)
    assert_outcome(result, {"2.13": FAILED}, task_ids("l02_fully_connected"))
    assert "transpose" in by_id(result)["2.13"].message


def test_a_bug_in_the_third_lin_costs_2_17_only(graded):
    result = graded(course_notebooks_third_lin_w_grad_transposed)
    assert_outcome(result, {"2.17": FAILED}, task_ids("l02_fully_connected"))
    assert "transpose" in by_id(result)["2.17"].message


def test_a_plain_module_without_cell_markers_scores_full_marks(graded):
    result = graded(plain_module_01)
    assert_outcome(result, {}, task_ids("l01_matmul"))
    assert result.score == result.max_score == 8


def test_lesson_05b_redefinitions_map_to_their_own_tasks(graded):
    # 05b writes Callback, Runner, Recorder and ParamScheduler again: its Runner is 5.9, not a fix
    # of lesson 04's (4.7), and its Recorder and ParamScheduler replace 05's first versions
    tasks = by_id(graded(course_notebooks))
    assert tasks["4.7"].location.startswith("04_callbacks.ipynb"), tasks["4.7"].location
    for task_id in ("5.7", "5.8", "5.9", "5.10"):
        assert tasks[task_id].location.startswith("05b_early_stopping.ipynb"), (task_id, tasks[task_id].location)
    assert "replaced an earlier definition (05_anneal.ipynb" in tasks["5.7"].message, tasks["5.7"].message


def test_kit_lessons_without_task_metadata_map_each_runner_to_its_own_lesson(graded):
    result = graded(kit_lessons_without_task_metadata)
    assert_outcome(result, {}, LESSONS_04_05)
    tasks = by_id(result)
    assert tasks["4.7"].location.startswith("l04_callbacks.py") and tasks["5.9"].location.startswith("l05_anneal.py")
