"""Where each task is defined in a submission's stream of cells, without running it.

Cell metadata (``task="2.11"``) names a task's cell where present (of several, the last
that is not a stub). Otherwise a task is one or more *slots*, each a version of a name the
kit, the course and the fill-in notebook use (2.13's ``Relu`` may be written ``class
relu``; the classes of 2.13 and 2.14 come before ``class Module``, those of 2.16 and 2.17
after it). The versions of one name form a *ladder* (the five ``matmul`` of lesson 01),
and ``finder`` lays the submission's definitions on its rungs by what their code is: a
redefinition of the same rung is a fix, versions under names of their own
(``matmul_v2``, ``MatMul.two_loops``) are found when the kit's name is missing, and a
method of a top-level class counts as a function. Instructors map other names (``--alias
1.4=matmul2``, ``--alias 1.2=MatMul.three_loops``): an alias names a definition. When a
task is not found, the message says what was looked for, what comes close, and which
alias would map it; a task the notebook computes inline (the course's Frobenius norm)
says so. How a task was decided, where it is not the kit's name in the kit's place, is a
note on its row.
"""
from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass, field, replace

from autograder import messages
from autograder.reading import cells as cell_rules
from autograder.reading import finder
from autograder.tasks import TASKS, Task, lesson_of


@dataclass(frozen=True)
class Slot:
    names: tuple[str, ...]  # the kit's name first, then the others accepted
    kind: str = ""  # "def", "class" or "" for any
    nth: int = 1
    phase: str = ""  # "before Module", "after Module" or "" for anywhere
    params: tuple[str, ...] = ()  # the kit's parameters, to recognise a renamed function

    @property
    def name(self) -> str:
        return self.names[0]


@dataclass(frozen=True)
class Definition:
    name: str  # "matmul", or "MatMul.three_loops" for a method of a top-level class
    kind: str  # "def", "class", "method", "assign" ("" when the cell does not parse)
    file_index: int
    cell_index: int
    filename: str  # the cell's filename, as tracebacks show it
    lineno: int
    order: int  # position in the stream
    params: tuple[str, ...] = ()  # without a method's ``self``
    location: str = ""
    node: ast.AST | None = field(default=None, compare=False, repr=False)
    experiment: bool = False  # its cell says it is a what-if, not the answer

    @property
    def own_name(self) -> str:
        """The name as written: a method's own name."""
        return self.name.rsplit(".", 1)[-1]


@dataclass
class Found:
    file_index: int
    cell_index: int  # the task's namespace is taken right after this cell
    file: str  # the file's name, for "edit ... in"
    location: str  # "01_matmul.ipynb, cell 26"
    by_metadata: bool = False
    definitions: set = field(default_factory=set)  # (cell filename, line) of each definition
    renames: dict = field(default_factory=dict)  # the kit's name -> the name in the submission
    note: str = ""  # how it was decided, where that is not the kit's name in the kit's place
    signatures: dict = field(default_factory=dict)  # the kit's name -> the parameters of the definition found
    renamed_in_cell: str = ""  # a task cell that defines the function under another name: what to do


def _slot(name, kind="", nth=1, phase="", params=(), also=()):
    return Slot((name, *also), kind, nth, phase, tuple(params.split()) if isinstance(params, str) else params)


# Slots that differ from "the nth definition of each of the task's names".
SLOTS: dict[str, tuple[Slot, ...]] = {
    "0.1": (_slot("test", "def", params="a b cmp cname"),),
    "0.2": (_slot("test_eq", params="a b"),),
    "1.1": (_slot("get_data", "def", params="path"),),
    **{task_id: (_slot("matmul", "def", nth, params="a b"),)
       for nth, task_id in enumerate(["1.2", "1.4", "1.6", "1.7", "1.8"], start=1)},
    "1.3": (_slot("frobenius", "def", params="a"),),
    "1.5": (_slot("near", "def", params="a b"), _slot("test_near", params="a b")),
    "2.1": (_slot("normalize", "def", params="x m s"),),
    "2.2": (_slot("test_near_zero", "def", params="a tol"),),
    "2.3": (_slot("he_init", "def", params="n_in n_out"),),
    "2.4": (_slot("relu", "def", params="x"),),
    "2.5": (_slot("lin", "def", params="x w b"),),
    "2.6": (_slot("kaiming_torch", "def", params="n_in n_out"),),
    "2.7": (_slot("model", "def", params="xb w1 b1 w2 b2"),),
    "2.8": (_slot("mse", "def", params="output targ"),),
    "2.9": (_slot("mse_grad", "def", params="inp targ"),),
    "2.10": (_slot("relu_grad", "def", params="inp out"),),
    "2.11": (_slot("lin_grad", "def", params="inp out w b"),),
    "2.12": (_slot("forward_and_backward", "def", params="inp targ w1 b1 w2 b2"),),
    "2.13": (_slot("Relu", "class", phase="before Module", also=("relu",)),
             _slot("Lin", "class", phase="before Module", also=("linear",)),
             _slot("Mse", "class", phase="before Module", also=("mse",))),
    "2.14": (_slot("Model", "class", phase="before Module", also=("model",)),),
    "2.15": (_slot("Module", "class"),),
    "2.16": (_slot("Relu", "class", phase="after Module"), _slot("Lin", "class", phase="after Module"),
             _slot("Mse", "class", phase="after Module"), _slot("Model", "class", phase="after Module")),
    "2.17": (_slot("Lin", "class", 2, phase="after Module"),),
}

# What the course writes inline instead of a function: (pattern in top-level code, what it is).
INLINE = {
    "1.1": (re.compile(r"pickle\.load\("), "reading MNIST"),
    # a norm: the sum of squares and its square root (not any sqrt: ``randn(m, nh) / math.sqrt(m)`` is an init)
    "1.3": (re.compile(r"\.sum\(\)\s*\.sqrt\(\)|\.pow\(2\)\s*\.sum\(|\*\*\s*2\)?\s*\.sum\("
                       r"|sqrt\([^)]*\.pow\(2\)|sqrt\([^)]*\*\*\s*2"), "the Frobenius norm"),
    # the product itself, alone or assigned (``t2 = m1.matmul(m2)``), not a test that compares with it
    "1.8": (re.compile(r"^\s*(?:\w+\s*=\s*)?\w+\s*(?:@\s*\w+|\.matmul\(\s*\w+\s*\))\s*$"),
            "the PyTorch matmul"),
    "2.3": (re.compile(r"randn\([^)]*\)\s*\*\s*math\.sqrt\(\s*2"), "He init"),
    "2.6": (re.compile(r"kaiming_normal_\("), "PyTorch's kaiming init"),
}
SIGNATURES = {
    "1.1": "get_data(path) returning x_train, y_train, x_valid, y_valid as tensors",
    "1.3": "frobenius(a)", "1.8": "a 5th matmul(a, b) that uses PyTorch's own matmul",
    "2.3": "he_init(n_in, n_out)", "2.6": "kaiming_torch(n_in, n_out)",
}


# The parameters the kit calls with, for tasks whose slots above do not list them (a class: its __init__'s).
KIT_PARAMS = {
    "3.1": "x", "3.2": "input target", "3.3": "x", "3.4": "x", "3.5": "x", "3.6": "out yb",
    "3.7": "epochs model loss_func lr x y bs", "3.8": "n_in nh n_out", "3.9": "params lr", "3.10": "x y",
    "3.11": "ds bs shuffle", "3.12": "b", "3.13": "ds sampler collate_fn",
    "3.14": "epochs model loss_func opt train_dl valid_dl", "3.15": "train_ds valid_ds bs",
    "4.1": "train_dl valid_dl c", "4.2": "model opt loss_func data", "4.3": "name", "4.6": "o",
    "4.7": "cbs cb_funcs", "4.8": "metrics in_train",
    "5.1": "f", "5.6": "pcts scheds", "5.8": "pname sched_funcs", "5.9": "cbs cb_funcs",
    "5.10": "max_iter min_lr max_lr",
    "6.1": "train valid", "6.2": "func", "6.3": "x", "6.4": "data", "6.6": "tfm", "6.7": "ni nf ks stride",
    "6.8": "m", "6.9": "hook mod inp outp", "6.10": "items", "6.11": "ms f", "6.12": "leak sub maxv",
    "6.13": "ni nf ks stride", "6.14": "m uniform",
}


def kit_params(task: Task, name: str) -> tuple[str, ...] | None:
    """What the kit passes to ``name`` for ``task``, where the kit knows it."""
    for slot in slots(task):
        if name in slot.names and slot.params:
            return slot.params
    if task.id in KIT_PARAMS and name == task.names[0]:
        return tuple(KIT_PARAMS[task.id].split())
    return None


def slots(task: Task) -> tuple[Slot, ...]:
    return SLOTS.get(task.id) or tuple(_slot(name, nth=nth) for name, nth in task.defines)


def parse_aliases(entries) -> dict[str, dict[str, str]]:
    """``["1.4=matmul2", "2.13:Lin=Linear"]`` -> ``{"1.4": {"matmul": "matmul2"}, ...}``.

    ``TASK=NAME`` renames the task's first name; ``TASK:KIT_NAME=NAME`` one of its names.
    """
    aliases: dict[str, dict[str, str]] = {}
    for entry in entries or ():
        match = re.fullmatch(r"\s*(\d+\.\d+)(?::(\w+))?\s*=\s*(\w+(?:\.\w+)?)\s*", str(entry))
        if not match:
            raise ValueError(f"alias {entry!r} should look like 1.4=matmul2 or 2.13:Lin=Linear")
        task_id, kit_name, name = match.groups()
        if task_id not in TASKS:
            raise ValueError(f"alias {entry!r}: there is no task {task_id}")
        names = [s.name for s in slots(TASKS[task_id])]
        kit_name = kit_name or names[0]
        if kit_name not in names:
            raise ValueError(f"alias {entry!r}: Task {task_id} defines {', '.join(names)}, not {kit_name}")
        aliases.setdefault(task_id, {})[kit_name] = name
    return aliases


CONFIG = "autograder.toml"


def read_config(file) -> dict:
    """One ``autograder.toml``, parsed; ``ValueError`` names the file when it is not TOML."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{file.name}: {exc}") from None


def _config(path) -> dict:
    """The ``autograder.toml`` next to the submission or the class folder above it, if any."""
    from pathlib import Path

    path = Path(path).resolve()
    folder = path if path.is_dir() else path.parent
    for candidate in (folder / CONFIG, folder.parent / CONFIG):
        if candidate.is_file():
            return read_config(candidate)
    return {}


def config_aliases(path) -> list[str]:
    """Aliases from the config: ``[aliases]`` then ``"1.4" = "matmul2"`` or ``"2.13:Lin" = "Linear"``."""
    return [f"{key}={value}" for key, value in _config(path).get("aliases", {}).items()]


def config_assignment_name(path) -> str | None:
    """The assignment's name (``[assignment]`` then ``name = "Lessons 00-02"``), for the LMS gradebook."""
    name = _config(path).get("assignment", {}).get("name")
    if name is not None and not (isinstance(name, str) and name.strip()):
        raise ValueError(f"{CONFIG}: [assignment] name must be a non-empty string, not {name!r}")
    return name.strip() if name else None


def config_tasks(path) -> list[str] | None:
    """The tasks an assignment covers: ``[assignment]`` then ``lessons = ["00", "01", "02"]``."""
    lessons = _config(path).get("assignment", {}).get("lessons")
    if lessons is None:
        return None
    from autograder.tasks import LESSONS

    known = {lesson.number: stem for stem, lesson in LESSONS.items()}
    unknown = [str(n) for n in lessons if str(n) not in known]
    if unknown:
        raise ValueError(f"{CONFIG}: no lesson {', '.join(unknown)}; lessons are {', '.join(known)}")
    stems = {known[str(n)] for n in lessons}
    return [t.id for t in TASKS.values() if t.lesson in stems]


_EXPERIMENT = re.compile(r"^\s*#.*\b(what if|experiment|try (?:this|another))\b", re.IGNORECASE | re.MULTILINE)


def definitions(submission) -> list[Definition]:
    """Every definition the grader would run, in stream order, and each method of a top-level class."""
    found, order = [], 0
    for file_index, source_file in enumerate(submission.files):
        for cell_index, cell in enumerate(source_file.cells):
            for name, kind, lineno, params, node in cell_definitions(cell):
                lines = cell.source.split("\n")[:lineno - 1]
                experiment = bool(_EXPERIMENT.search("\n".join(lines[-3:])))  # "# what if...?" above it
                found.append(Definition(name, kind, file_index, cell_index, cell.filename, lineno, order,
                                        params, cell.location, node, experiment))
                order += 1
    return found


def cell_definitions(cell):
    """(name, kind, line, parameters, node) of each definition the cell runs, methods included."""
    if cell.syntax_error:  # guessed from the text, so the task still maps to its cell
        for match in re.finditer(r"^(def|class)\s+(\w+)|^(\w+)\s*=", cell.source, re.MULTILINE):
            kind = match[1] or "assign"
            yield (match[2] or match[3], "" if kind == "assign" else kind,
                   cell.source[:match.start()].count("\n") + 1, (), None)
        return
    for statement in cell_rules.runnable(cell_rules.parse(cell.source, cell.filename)).body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield statement.name, "def", statement.lineno, finder.params(statement), statement
        elif isinstance(statement, ast.ClassDef):
            yield statement.name, "class", statement.lineno, finder.params(statement), statement
            for item in statement.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and not item.name.startswith("__"):
                    static = any(ast.unparse(d) == "staticmethod" for d in item.decorator_list)
                    params = finder.params(item)
                    yield (f"{statement.name}.{item.name}", "method", item.lineno,
                           params if static else params[1:], item)
        else:
            for name in cell_rules.defined_names(ast.Module(body=[statement], type_ignores=[])):
                yield name, "assign", statement.lineno, (), None


def _ladders() -> dict[tuple[str, str, str], dict[int, str]]:
    """(kit name, kind, phase) -> {rung: task id}: the versions of a name, and which are tasks."""
    ladders: dict[tuple[str, str, str], dict[int, str]] = {}
    for task in TASKS.values():
        for slot in slots(task):
            ladders.setdefault((slot.name, slot.kind, slot.phase), {})[slot.nth] = task.id
    return ladders


LADDERS = _ladders()
KNOWN_NAMES = frozenset(name for task in TASKS.values() for slot in slots(task) for name in slot.names)


@dataclass
class _Finder:
    """What a submission defines, and the ladders laid on it (once per ladder)."""
    every: list[Definition]
    module_at: int | None
    file_lessons: list[str | None]
    layouts: dict = field(default_factory=dict)

    def kit_named(self, slot: Slot, task: Task) -> list[Definition]:
        matches = [d for d in self.every if d.kind != "method" and d.name in slot.names
                   and (not slot.kind or d.kind in (slot.kind, "")) and _in_phase(d, slot.phase, self.module_at)]
        return self.in_lesson(matches, task, slot)

    def in_lesson(self, matches: list[Definition], task: Task, slot: Slot | None = None) -> list[Definition]:
        """A file named for a lesson holds that lesson's tasks (where it holds any of them); a
        ladder whose rungs span lessons (lesson 04's ``Runner`` and lesson 05's) is read in the
        files of each of them."""
        lessons = {None, task.lesson}
        if slot is not None:
            lessons |= {TASKS[t].lesson for t in LADDERS.get((slot.name, slot.kind, slot.phase), {}).values()}
        own = [d for d in matches if self.file_lessons[d.file_index] in lessons]
        return own or matches

    def renamed(self, slot: Slot, task: Task, taken: list[Definition]) -> list[Definition]:
        """Definitions under other names that may be versions of ``slot``: ``mat_mul_2``,
        ``three_loop_matmul``, ``MatMul.three_loops``, a method ``Net.relu``."""
        target = finder.squash(slot.name)
        out = []
        for d in self.every:
            if d in taken or d.experiment or d.name in KNOWN_NAMES or not _in_phase(d, slot.phase, self.module_at):
                continue
            if (slot.kind == "class") != (d.kind == "class") or d.kind not in ("def", "class", "method"):
                continue
            if "test" in d.name.lower() and "test" not in slot.name:
                continue
            if slot.params and len(d.params) != len(slot.params):
                continue
            similar = len(target) >= 6 and target in finder.squash(d.name)
            if similar or (d.kind == "method" and d.own_name in slot.names):
                out.append(d)
        return self.in_lesson(out, task, slot) if out else out

    def layout(self, slot: Slot, task: Task) -> tuple[finder.Layout, list[Definition]]:
        key = (slot.name, slot.kind, slot.phase)
        if key not in self.layouts:
            rungs = LADDERS[key]
            named = self.kit_named(slot, task)
            candidates = [d for d in named if not d.experiment and not finder.raises_not_implemented(d.node)] \
                or [d for d in named if not d.experiment] or named

            def what(d: Definition):
                return finder.evidence(slot.name, slot.phase, d.node)
            if len(candidates) < len(rungs):
                # another name counts where its code plainly is a rung (a helper `matmul_row` is not),
                # or, for a name whose versions cannot be told apart, where the kit's name is missing
                others = [d for d in self.renamed(slot, task, candidates)
                          if what(d) or (not candidates and slot.name not in finder.EVIDENCE)]
                candidates = sorted(candidates + others, key=lambda d: d.order)
            kinds = [what(d) for d in candidates]
            if len({d.name for d in candidates}) == len(candidates) and all(kinds):
                # versions under names of their own, each plainly one rung: their order says nothing
                candidates = [d for _, d in sorted(zip(kinds, candidates), key=lambda p: (p[0], p[1].order))]
            layout = finder.lay(candidates, max(rungs), set(rungs), what, lambda d: d.name in slot.names)
            self.layouts[key] = layout, named
        return self.layouts[key]


def locate(submission, aliases: dict[str, dict[str, str]]) -> None:
    """Fill ``submission.found`` and ``submission.problems`` for every task graded."""
    every = definitions(submission)
    module_at = next((d.order for d in every if d.name == "Module" and d.kind == "class"), None)
    finding = _Finder(every, module_at, [lesson_of(f.name) for f in submission.files])
    by_metadata = _metadata_cells(submission)
    for task in submission.tasks:
        if task.id in submission.problems:
            continue
        if task.id in by_metadata:
            marked = by_metadata[task.id]
            implemented = [(f, c) for f, c in marked if not _stub_cell(every, f, c)]
            file_index, cell_index = (implemented or marked)[-1]
            source_file = submission.files[file_index]
            submission.found[task.id] = Found(file_index, cell_index, source_file.name,
                                              source_file.cells[cell_index].location, by_metadata=True,
                                              note=_fallback_note(submission, file_index),
                                              renames=dict(aliases.get(task.id, {})),  # renamed in the kit's cell
                                              renamed_in_cell=_renamed_in_cell(task, every, file_index, cell_index,
                                                                               aliases.get(task.id, {})),
                                              signatures={d.name: d.params for d in every if d.name in task.names
                                                          and (d.file_index, d.cell_index) == (file_index, cell_index)})
            continue
        if _metadata_only(submission, task):
            submission.problems[task.id] = messages.METADATA_MISSING.format(task=task.id, name=task.name)
            continue
        result = _by_names(task, finding, aliases.get(task.id, {}))
        if isinstance(result, Found):
            result.file = submission.files[result.file_index].name
            result.note = " ".join(filter(None, [_fallback_note(submission, result.file_index), result.note]))
            submission.found[task.id] = result
        else:
            submission.problems[task.id] = result
    _explain_missing(submission, every)
    mark_tasks(submission)


def mark_tasks(submission) -> None:
    """Record on each cell the tasks whose namespace is taken right after it."""
    completing: dict[tuple[int, int], list[str]] = {}
    for task_id, found in submission.found.items():
        completing.setdefault((found.file_index, found.cell_index), []).append(task_id)
    for (file_index, cell_index), task_ids in completing.items():
        source_file = submission.files[file_index]
        cell = source_file.cells[cell_index]
        source_file.cells[cell_index] = replace(cell, tasks=cell.tasks + tuple(task_ids))


def _renamed_in_cell(task: Task, every: list[Definition], file_index: int, cell_index: int,
                     aliases: dict[str, str]) -> str:
    """A task cell that defines a function under a name of its own and not the kit's: say which."""
    in_cell = [d for d in every if (d.file_index, d.cell_index) == (file_index, cell_index)
               and d.kind in ("def", "class")]
    missing = [n for n in task.names if n not in aliases and not any(d.name == n for d in in_cell)]
    others = [d for d in in_cell if d.name not in task.names]
    if len(missing) != 1 or len(others) != 1:
        return ""
    return messages.RENAMED_IN_CELL.format(task=task.id, name=others[0].name, kit=missing[0],
                                           where=others[0].location)


def _stub_cell(every: list[Definition], file_index: int, cell_index: int) -> bool:
    """A task cell whose definitions only raise NotImplementedError (the kit's stubs)."""
    defined = [d for d in every if (d.file_index, d.cell_index) == (file_index, cell_index)
               and d.kind in ("def", "class")]
    return bool(defined) and all(finder.raises_not_implemented(d.node) for d in defined)


def _fallback_note(submission, file_index: int) -> str:
    """Where a task comes from the file of a pair that was set aside, say so."""
    graded = submission.fallbacks.get(file_index)
    if graded is None:
        return ""
    return messages.FALLBACK.format(other=submission.files[file_index].name, graded=submission.files[graded].name)


def _metadata_cells(submission) -> dict[str, list[tuple[int, int]]]:
    cells: dict[str, list[tuple[int, int]]] = {}
    for file_index, source_file in enumerate(submission.files):
        for cell_index, cell in enumerate(source_file.cells):
            if cell.metadata_task:
                cells.setdefault(cell.metadata_task, []).append((file_index, cell_index))
    return cells


def _metadata_only(submission, task) -> bool:
    """A file that marks its tasks with metadata is read by metadata only (the kit's own files)."""
    for source_file in submission.files:
        marked = {c.metadata_task for c in source_file.cells if c.metadata_task}
        if marked and lesson_of(source_file.name) == task.lesson:
            return True
    return False


def _by_names(task: Task, finding: _Finder, aliases: dict[str, str]) -> Found | str:
    last, found_definitions, renames, notes, signatures = None, set(), {}, [], {}
    for slot in slots(task):
        if slot.name in aliases:
            name = aliases[slot.name]
            matches = [d for d in finding.every if d.name == name]
            if not matches:
                return _not_found(task, replace(slot, nth=1), [], (name,), "", finding.module_at)
            chosen = matches[0]
            notes.append(messages.GRADED_AS.format(name=chosen.name, where=chosen.location, task=task.id,
                                                   why=f"as the alias {task.id}={name} says"))
        else:
            layout, named = finding.layout(slot, task)
            chosen = layout.final.get(slot.nth)
            if chosen is None:
                return _rung_not_found(task, slot, layout, named, finding.module_at)
            notes += _how_decided(task, slot, chosen, layout)
        found_definitions.add((chosen.filename, chosen.lineno))
        signatures[slot.name] = chosen.params
        if chosen.name != slot.name:
            renames[slot.name] = chosen.name
        if last is None or chosen.order > last.order:
            last = chosen
    return Found(last.file_index, last.cell_index, "", last.location, definitions=found_definitions,
                 renames=renames, note=" ".join(notes), signatures=signatures)


def _what(slot: Slot, definition: Definition) -> str:
    rung = finder.evidence(slot.name, slot.phase, definition.node)
    return finder.RUNG_WORDS.get(slot.name, {}).get(rung, "")


def _how_decided(task: Task, slot: Slot, chosen: Definition, layout: finder.Layout) -> list[str]:
    notes = []
    if chosen.name not in slot.names:
        what = _what(slot, chosen)
        notes.append(messages.GRADED_AS.format(name=chosen.name, where=chosen.location, task=task.id,
                                               why=f"by what it does: {what}" if what else
                                               f"as it looks like `{slot.name}`"))
    replaced = layout.replaced.get(slot.nth, [])
    if replaced:
        notes.append(messages.REPLACED.format(name=chosen.name, where=chosen.location,
                                              earlier=", ".join(d.location for d in replaced)))
    return notes


def _in_phase(definition: Definition, phase: str, module_at) -> bool:
    if phase == "before Module":
        return module_at is None or definition.order < module_at
    if phase == "after Module":
        return module_at is not None and definition.order > module_at
    return True


def _rung_not_found(task, slot, layout: finder.Layout, named: list[Definition], module_at) -> str:
    """A rung nothing was laid on: what it needs, and where the definitions of its name went."""
    words = finder.RUNG_WORDS.get(slot.name, {}).get(slot.nth)
    if not words:
        return _not_found(task, slot, named, slot.names, slot.kind, module_at)
    what = {"def": "def ", "class": "class "}.get(slot.kind, "")
    placed = {id(d): rung for rung, d in layout.final.items()}
    tasks = LADDERS[(slot.name, slot.kind, slot.phase)]
    elsewhere = [f"{d.location} is Task {tasks[placed[id(d)]]}" for d in named
                 if id(d) in placed and placed[id(d)] in tasks]
    count = (f"found {len(named)}: " + "; ".join(elsewhere) + ", by what they do") if elsewhere else \
        (f"found {len(named)}" if named else "found none")
    return messages.NOT_FOUND.format(task=task.id, ordinal="a", accepted=f"`{what}{slot.name}` with {words}",
                                     where="", count=count)


def _not_found(task, slot, matches, names, kind, module_at) -> str:
    what = {"def": "def ", "class": "class "}.get(kind, "")
    ordinal = {1: "a", 2: "a 2nd", 3: "a 3rd"}.get(slot.nth, f"a {slot.nth}th")
    accepted = " or ".join(f"`{what}{n}`" for n in names)
    where = ""
    if slot.phase == "after Module":
        where = " after `class Module`" if module_at is not None else " (built on `class Module`, which is not defined)"
    elif slot.phase == "before Module" and module_at is not None:
        where = " before `class Module`"
    count = f"found {len(matches)}" if matches else "found none"
    return messages.NOT_FOUND.format(task=task.id, ordinal=ordinal, accepted=accepted, where=where, count=count)


def _explain_missing(submission, every: list[Definition]) -> None:
    """Add to each missing task what comes close: a renamed definition, or inline code."""
    used = {(d.filename, d.lineno) for f in submission.found.values() for d in _defs_of(f, every)}
    for task in submission.tasks:
        problem = submission.problems.get(task.id, "")
        if not problem.startswith(messages.NOT_FOUND_START):
            continue
        extra = _inline(task, submission) or _close_names(task, every, used)
        if extra:
            submission.problems[task.id] = f"{problem}. {extra}"
            near = re.search(r"\(([^(),]+\.(?:ipynb|py)), (?:cell|line) \d+", extra)
            if near:  # "edit ... in" the file that holds the inline code or the renamed function
                submission.nearest[task.id] = near[1]


def _defs_of(found: Found, every):
    return [d for d in every if (d.filename, d.lineno) in found.definitions]


def _close_names(task: Task, every: list[Definition], used: set) -> str:
    candidates = [d for d in every if (d.filename, d.lineno) not in used and d.kind in ("def", "class")
                  and d.name not in KNOWN_NAMES]
    for slot in slots(task):
        if any(d.name in slot.names for d in every) and slot.nth == 1:
            continue
        # a version told apart by its code is pointed at only where its code is this rung's
        fits = [d for d in candidates if slot.name not in finder.EVIDENCE
                or finder.evidence(slot.name, slot.phase, d.node) in (None if d.node is None else slot.nth,)]
        close = _closest(slot, fits)
        if close is not None:
            return messages.CLOSE_NAME.format(name=close.name, where=close.location, task=task.id,
                                              alias=f"{task.id}={close.name}" if slot.name == slots(task)[0].name
                                              else f"{task.id}:{slot.name}={close.name}")
    return ""


def _closest(slot: Slot, candidates: list[Definition]) -> Definition | None:
    def squash(name: str) -> str:
        return re.sub(r"[^a-z]", "", name.lower())

    target = squash(slot.name)
    scored = []
    for d in candidates:
        if slot.kind and d.kind != slot.kind:
            continue
        name = squash(d.name)
        score = difflib.SequenceMatcher(None, target, name).ratio()
        if target and (target in name or name in target) and len(name) >= 3:
            score = max(score, 0.9)
        if score >= 0.4 and slot.params and d.params == slot.params:
            score = max(score, 0.8)  # a renamed function with the kit's very parameters
        if score >= 0.75:
            scored.append((score, d.order, d))
    return max(scored, key=lambda s: (s[0], s[1]))[2] if scored else None


def _inline(task: Task, submission) -> str:
    pattern = INLINE.get(task.id)
    if pattern is None:
        return ""
    regex, what = pattern
    for _, cell in submission.cells():
        for code in _top_level_code(cell):
            if regex.search(code):
                return messages.INLINE.format(what=what, where=cell.location, code=_short(code),
                                              signature=SIGNATURES.get(task.id, task.name))
    return ""


_TIMING_MAGIC = re.compile(r"^\s*%%?time(?:it)?\s+(?:-\w+\s+\d+\s+)*")


def _top_level_code(cell):
    """The cell's code outside definitions, timing magics included (``%timeit t = m1.matmul(m2)``)."""
    for line in cell.source.split("\n"):
        if _TIMING_MAGIC.match(line):
            yield _TIMING_MAGIC.sub("", line)
    if cell.syntax_error:
        return
    for statement in cell_rules.parse(cell.source, cell.filename).body:
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import,
                                      ast.ImportFrom)):
            yield ast.unparse(statement)


def _short(code: str) -> str:
    line = code.strip().split("\n")[0]
    return line if len(line) <= 70 else line[:67] + "..."
