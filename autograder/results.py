"""Results: ``CheckResult -> TaskResult -> SubmissionResult``, plain dataclasses.

Totals are computed, never stored twice, and everything round-trips through JSON.
``status`` is ``passed``, ``failed`` (the code ran and is wrong) or ``error`` (it could
not be graded: missing file, a cell that does not run, a crash or a timeout).
Hidden checks are rows of their own in ``SubmissionResult.hidden``; they count in the
totals when they ran, and ``hidden_pending`` says how many did not run here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

PASSED, FAILED, ERROR = "passed", "failed", "error"
HIDDEN_ID = "{task}.h{number}"  # the n-th hidden check of a task: "1.2.h1" (Gradescope's test number too)


@dataclass(frozen=True)
class CheckResult:
    name: str  # "shape", "dtype", "finite", "values", "side effects", "gradients", "rules", ...
    passed: bool
    message: str = ""
    hint: str = ""  # the known mistake it names, apart from the message ("Hint: ...")


@dataclass
class TaskResult:
    id: str
    name: str
    max_score: float
    status: str
    message: str = ""
    checks: list[CheckResult] = field(default_factory=list)
    location: str = ""  # where the task was found: "01_matmul.ipynb, cell 26"
    measures: dict[str, float] = field(default_factory=dict)  # e.g. speed_ratio, for the class report

    @property
    def score(self) -> float:
        return self.max_score if self.status == PASSED else 0.0

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name, "status": self.status, "score": self.score,
                "max_score": self.max_score, "message": self.message, "location": self.location}

    @classmethod
    def from_json(cls, data: dict) -> "TaskResult":
        return cls(id=data["id"], name=data["name"], max_score=data["max_score"],
                   status=data["status"], message=data.get("message", ""),
                   location=data.get("location", ""))


@dataclass
class SubmissionResult:
    tasks: list[TaskResult]
    path: str = ""
    seed: int | None = None
    crashed: str = ""  # set when grading itself could not run at all
    flags: list[str] = field(default_factory=list)  # suspicious constructs, for the instructor
    notes: list[str] = field(default_factory=list)  # about the whole submission (a failing import)
    hidden: list[TaskResult] = field(default_factory=list)  # hidden checks that ran, one row each
    hidden_pending: int = 0  # hidden checks of the graded tasks that did not run here

    @property
    def score(self) -> float:
        return sum(t.score for t in [*self.tasks, *self.hidden])

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in [*self.tasks, *self.hidden])

    @property
    def passed(self) -> bool:
        return not self.crashed and all(t.status == PASSED for t in [*self.tasks, *self.hidden])

    def to_json(self) -> dict:
        data = {"score": self.score, "max_score": self.max_score,
                "tasks": [t.to_json() for t in self.tasks], "notes": list(self.notes)}
        if self.hidden:
            data["hidden"] = [t.to_json() for t in self.hidden]
        if self.hidden_pending:
            data["hidden_pending"] = self.hidden_pending
        return data

    @classmethod
    def from_json(cls, data: dict) -> "SubmissionResult":
        return cls(tasks=[TaskResult.from_json(t) for t in data["tasks"]], notes=list(data.get("notes", [])),
                   hidden=[TaskResult.from_json(t) for t in data.get("hidden", [])],
                   hidden_pending=int(data.get("hidden_pending", 0)))


@dataclass(frozen=True)
class Row:
    """One scored row of a result: a task, or one hidden check of a task (``hidden``)."""
    id: str  # "1.2", or "1.2.h1" for the first hidden check of task 1.2
    task: TaskResult
    hidden: bool = False


def rows(result: SubmissionResult) -> list[Row]:
    """Every row that carries points, tasks then hidden checks: their points add up to the score."""
    numbers: dict[str, int] = {}
    hidden = []
    for task in result.hidden:
        numbers[task.id] = numbers.get(task.id, 0) + 1
        hidden.append(Row(HIDDEN_ID.format(task=task.id, number=numbers[task.id]), task, True))
    return [Row(task.id, task) for task in result.tasks] + hidden
