"""What a class run keeps per student (``StudentRecord``) and for the class (``ClassReport``).

Plain dataclasses that round-trip through JSON. A record holds the student's whole
result (every task, with where it was found, its checks and measurements), the seed it
was graded with and the hash of what was graded, so a restarted run can tell a result
that is still current from one to redo. ``error`` says why a student could not be graded.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from autograder.results import CheckResult, SubmissionResult, TaskResult, rows
from autograder.tasks import TASKS

PHASES = ("load", "run", "check", "report")


def location(task: TaskResult) -> str:
    """Where the task was found in the submission ("01_matmul.ipynb, cell 12"), if known."""
    return getattr(task, "location", "") or ""


def measures(task: TaskResult) -> dict:
    return dict(getattr(task, "measures", {}) or {})


def task_to_json(task: TaskResult) -> dict:
    return {**task.to_json(), "location": location(task), "measures": measures(task),
            "checks": [{"name": c.name, "passed": c.passed, "message": c.message} for c in task.checks]}


def task_from_json(data: dict) -> TaskResult:
    task = TaskResult.from_json(data)
    task.checks = [CheckResult(c["name"], c["passed"], c.get("message", "")) for c in data.get("checks", [])]
    for name in ("location", "measures"):
        if data.get(name):
            try:
                setattr(task, name, data[name])
            except AttributeError:
                pass
    return task


@dataclass
class StudentRecord:
    student: str
    source: str  # the entry in the class folder
    content_hash: str
    seed: int
    result: SubmissionResult | None = None
    error: str = ""  # the student could not be graded: why
    seconds: dict[str, float] = field(default_factory=dict)  # per phase (PHASES), and "total"
    name: str = ""  # the student's name as handed in (``student`` is their folder in the results)

    def __post_init__(self):
        self.name = self.name or self.student

    @property
    def graded(self) -> bool:
        return self.result is not None and not self.error

    def task(self, task_id: str) -> TaskResult | None:
        if self.result is None:
            return None
        return next((t for t in self.result.tasks if t.id == task_id), None)

    def to_json(self) -> dict:
        data = {"student": self.student, "name": self.name, "source": self.source, "content_hash": self.content_hash,
                "seed": self.seed, "error": self.error, "seconds": self.seconds, "result": None}
        if self.result is not None:
            data["result"] = {"score": self.result.score, "max_score": self.result.max_score,
                              "path": self.result.path, "crashed": self.result.crashed,
                              "flags": list(self.result.flags),
                              "notes": list(getattr(self.result, "notes", [])),
                              "tasks": [task_to_json(t) for t in self.result.tasks],
                              "hidden": [task_to_json(t) for t in self.result.hidden]}
        return data

    @classmethod
    def from_json(cls, data: dict) -> "StudentRecord":
        result = None
        if data.get("result") is not None:
            stored = data["result"]
            result = SubmissionResult(tasks=[task_from_json(t) for t in stored["tasks"]],
                                      path=stored.get("path", ""), seed=data.get("seed"),
                                      crashed=stored.get("crashed", ""), flags=list(stored.get("flags", [])))
            if stored.get("notes"):
                result.notes = list(stored["notes"])
            result.hidden = [task_from_json(t) for t in stored.get("hidden", [])]
        return cls(student=data["student"], source=data.get("source", ""),
                   content_hash=data.get("content_hash", ""), seed=data.get("seed", 0), result=result,
                   error=data.get("error", ""), seconds=dict(data.get("seconds", {})), name=data.get("name", ""))


@dataclass
class ClassReport:
    class_seed: int
    records: list[StudentRecord]

    @property
    def graded(self) -> list[StudentRecord]:
        return [r for r in self.records if r.graded]

    @property
    def ungraded(self) -> list[StudentRecord]:
        return [r for r in self.records if not r.graded]

    def task_ids(self) -> list[str]:
        """Every task any student was graded on, in the curriculum's order."""
        seen = {t.id: t.name for r in self.graded for t in r.result.tasks}
        known = [task_id for task_id in TASKS if task_id in seen]
        others = sorted((task_id for task_id in seen if task_id not in TASKS), key=_id_key)
        return known + others

    def task_names(self) -> dict[str, str]:
        return {t.id: t.name for r in self.graded for t in r.result.tasks}

    def row_ids(self) -> list[str]:
        """Every scored row any student has (``results.rows``): each task, its hidden checks after it."""
        hidden: dict[str, list[str]] = {}
        for record in self.graded:
            for row in rows(record.result):
                if row.hidden and row.id not in hidden.setdefault(row.task.id, []):
                    hidden[row.task.id].append(row.id)
        ordered = []
        for task_id in self.task_ids():
            ordered += [task_id, *sorted(hidden.pop(task_id, []), key=_id_key)]
        return ordered + sorted((row_id for ids in hidden.values() for row_id in ids), key=_id_key)


def _id_key(task_id: str) -> tuple:
    return tuple(int(part.lstrip("h")) if part.lstrip("h").isdigit() else 0 for part in task_id.split("."))
