"""The task registry: the spine of the kit.

Every task id (``L.N``) appears here once, with the lesson it belongs to, the names a
student defines for it and, for notebooks without task metadata, which version of each
name it is (the 1st to 5th ``matmul`` are tasks 1.2, 1.4, 1.6, 1.7, 1.8; ``finder`` tells
the versions apart by their code).
The ``rules`` and ``speed`` columns of CURRICULUM.md hang off the same rows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Lesson:
    number: str  # "01"
    stem: str  # "l01_matmul": the module name and the file name of the lesson

    @property
    def filename(self) -> str:
        return f"{self.stem}.py"


@dataclass(frozen=True)
class Task:
    id: str
    name: str  # what the student implements, as in the JSON report ("mse", "Relu, Lin, Mse")
    lesson: str  # lesson stem
    defines: tuple[tuple[str, int], ...]  # (name, nth definition of that name in the lesson)
    points: float = 1.0
    depends: tuple[str, ...] = ()  # tasks whose code this task builds on (named in feedback)
    rules: tuple = field(default=())  # filled by the rules table
    speed: tuple = field(default=())  # filled by the speed table

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for name, _ in self.defines))

    @property
    def sort_key(self) -> tuple[int, int]:
        major, minor = self.id.split(".")
        return int(major), int(minor)


LESSONS: dict[str, Lesson] = {
    lesson.stem: lesson
    for lesson in (
        Lesson("00", "l00_exports"),
        Lesson("01", "l01_matmul"),
        Lesson("02", "l02_fully_connected"),
        Lesson("03", "l03_minibatch_training"),
        Lesson("04", "l04_callbacks"),
        Lesson("05", "l05_anneal"),
        Lesson("06", "l06_cnn_hooks"),
    )
}

_L0, _L1, _L2 = "l00_exports", "l01_matmul", "l02_fully_connected"
_L3, _L4, _L5, _L6 = "l03_minibatch_training", "l04_callbacks", "l05_anneal", "l06_cnn_hooks"


def _task(id, name, lesson, *defines, **kwargs) -> Task:
    return Task(id, name, lesson, tuple((d, 1) if isinstance(d, str) else d for d in defines), **kwargs)


TASKS: dict[str, Task] = {
    task.id: task
    for task in (
        _task("0.1", "test", _L0, "test"),
        _task("0.2", "test_eq", _L0, "test_eq", depends=("0.1",)),
        _task("1.1", "get_data", _L1, "get_data"),
        _task("1.2", "matmul (three loops)", _L1, ("matmul", 1)),
        _task("1.3", "frobenius", _L1, "frobenius"),
        _task("1.4", "matmul (elementwise)", _L1, ("matmul", 2)),
        _task("1.5", "near, test_near", _L1, "near", "test_near"),
        _task("1.6", "matmul (broadcasting)", _L1, ("matmul", 3)),
        _task("1.7", "matmul (einsum)", _L1, ("matmul", 4)),
        _task("1.8", "matmul (pytorch)", _L1, ("matmul", 5)),
        _task("2.1", "normalize", _L2, "normalize"),
        _task("2.2", "test_near_zero", _L2, "test_near_zero"),
        _task("2.3", "he_init", _L2, "he_init"),
        _task("2.4", "relu", _L2, "relu"),
        _task("2.5", "lin", _L2, "lin"),
        _task("2.6", "kaiming_torch", _L2, "kaiming_torch"),
        _task("2.7", "model", _L2, "model"),
        _task("2.8", "mse", _L2, "mse"),
        _task("2.9", "mse_grad", _L2, "mse_grad"),
        _task("2.10", "relu_grad", _L2, "relu_grad"),
        _task("2.11", "lin_grad", _L2, "lin_grad"),
        _task("2.12", "forward_and_backward", _L2, "forward_and_backward"),
        _task("2.13", "Relu, Lin, Mse", _L2, ("Relu", 1), ("Lin", 1), ("Mse", 1)),
        _task("2.14", "Model", _L2, ("Model", 1)),
        _task("2.15", "Module", _L2, ("Module", 1)),
        _task("2.16", "Relu, Lin, Mse, Model on Module", _L2,
              ("Relu", 2), ("Lin", 2), ("Mse", 2), ("Model", 2), depends=("2.15",)),
        _task("2.17", "Lin (fast weight gradient)", _L2, ("Lin", 3), depends=("2.15",)),
        _task("3.1", "log_softmax", _L3, ("log_softmax", 1)),
        _task("3.2", "nll", _L3, "nll"),
        _task("3.3", "log_softmax (log of a quotient)", _L3, ("log_softmax", 2)),
        _task("3.4", "logsumexp", _L3, "logsumexp"),
        _task("3.5", "log_softmax (logsumexp)", _L3, ("log_softmax", 3)),
        _task("3.6", "accuracy", _L3, "accuracy"),
        _task("3.7", "fit (plain SGD)", _L3, ("fit", 1)),
        _task("3.8", "DummyModule", _L3, "DummyModule"),
        _task("3.9", "Optimizer", _L3, "Optimizer"),
        _task("3.10", "Dataset", _L3, "Dataset"),
        _task("3.11", "Sampler", _L3, "Sampler"),
        _task("3.12", "collate", _L3, "collate"),
        _task("3.13", "DataLoader", _L3, ("DataLoader", 2)),
        _task("3.14", "fit (with validation)", _L3, ("fit", 3)),
        _task("3.15", "get_dls", _L3, "get_dls", depends=("3.11", "3.12", "3.13")),
        _task("4.1", "DataBunch", _L4, "DataBunch"),
        _task("4.2", "Learner", _L4, "Learner"),
        _task("4.3", "camel2snake", _L4, "camel2snake"),
        _task("4.4", "Callback", _L4, ("Callback", 2)),
        _task("4.5", "TrainEvalCallback", _L4, "TrainEvalCallback", depends=("4.4",)),
        _task("4.6", "listify", _L4, "listify"),
        _task("4.7", "Runner", _L4, "Runner"),
        _task("4.8", "AvgStats", _L4, "AvgStats"),
        _task("4.9", "AvgStatsCallback", _L4, "AvgStatsCallback", depends=("4.4",)),
        _task("5.1", "annealer", _L5, "annealer"),
        _task("5.2", "sched_lin", _L5, "sched_lin", depends=("5.1",)),
        _task("5.3", "sched_cos", _L5, "sched_cos", depends=("5.1",)),
        _task("5.4", "sched_no", _L5, "sched_no", depends=("5.1",)),
        _task("5.5", "sched_exp", _L5, "sched_exp", depends=("5.1",)),
        _task("5.6", "combine_scheds", _L5, "combine_scheds"),
        _task("5.7", "Recorder", _L5, "Recorder"),
        _task("5.8", "ParamScheduler", _L5, "ParamScheduler"),
        _task("5.9", "Runner (cancel exceptions)", _L5, ("Runner", 2)),
        _task("5.10", "LR_Find", _L5, "LR_Find"),
        _task("6.1", "normalize_to", _L6, "normalize_to"),
        _task("6.2", "Lambda, flatten", _L6, "Lambda", "flatten"),
        _task("6.3", "mnist_resize", _L6, "mnist_resize"),
        _task("6.4", "get_cnn_model (first CNN)", _L6, ("get_cnn_model", 1)),
        _task("6.5", "CudaCallback", _L6, "CudaCallback"),
        _task("6.6", "BatchTransformXCallback, view_tfm", _L6, "BatchTransformXCallback", "view_tfm"),
        _task("6.7", "conv2d, get_cnn_layers, get_cnn_model (nfs)", _L6, "conv2d", ("get_cnn_layers", 1),
              ("get_cnn_model", 2)),
        _task("6.8", "children, Hook", _L6, "children", "Hook"),
        _task("6.9", "append_stats", _L6, ("append_stats", 2)),
        _task("6.10", "ListContainer", _L6, "ListContainer"),
        _task("6.11", "Hooks", _L6, "Hooks", depends=("6.8", "6.10")),
        _task("6.12", "GeneralRelu", _L6, "GeneralRelu"),
        _task("6.13", "conv_layer, get_cnn_layers, get_cnn_model (layer)", _L6, "conv_layer",
              ("get_cnn_layers", 2), ("get_cnn_model", 3)),
        _task("6.14", "init_cnn", _L6, "init_cnn"),
    )
}

_TASK_ID = re.compile(r"^\d+\.\d+$")
_LESSON_FILE = re.compile(r"^l?(?P<number>\d\d[a-z]?)_(?P<rest>[A-Za-z0-9_]+)\.(?:py|ipynb)$")


def tasks_of(lesson: str) -> list[Task]:
    return sorted((t for t in TASKS.values() if t.lesson == lesson), key=lambda t: t.sort_key)


NUMBERED = re.compile(r"^l?(?P<number>\d\d[a-z]?)_")  # a file named for a lesson, in any form


def lesson_of(filename: str) -> str | None:
    """The lesson stem a file is named for (``01_matmul.ipynb`` -> ``l01_matmul``), if any."""
    match = NUMBERED.match(filename)
    if not match:
        return None
    return next((stem for stem, lesson in LESSONS.items() if lesson.number == match["number"]), None)


def lesson_for_filename(filename: str) -> Lesson | None:
    """The lesson a submitted file is, by name: ``l01_matmul.py``, ``01_matmul.ipynb``..."""
    match = _LESSON_FILE.match(filename)
    if not match:
        return None
    for lesson in LESSONS.values():
        if lesson.number == match["number"]:
            return lesson
    return None


def select(task_ids: list[str] | None) -> list[Task]:
    """The tasks to grade, in curriculum order; unknown ids are a clear error."""
    if not task_ids:
        return sorted(TASKS.values(), key=lambda t: t.sort_key)
    unknown = [t for t in task_ids if t not in TASKS]
    if unknown:
        bad = ", ".join(unknown)
        hint = "" if all(_TASK_ID.match(t) for t in unknown) else " (task ids look like 2.11)"
        raise ValueError(f"unknown task id {bad}{hint}; known: {', '.join(TASKS)}")
    return sorted((TASKS[t] for t in task_ids), key=lambda t: t.sort_key)
