"""Break the grader on purpose, one change at a time: do the kit's tests notice?
(run: python benchmarks/breakages.py [--only NAME ...] [--list])

Each breakage switches off or weakens one check with a small edit to the source of a
copy of the repository (never this checkout); then the tests that should notice it run
against that copy, and the breakage is *noticed* when they fail. The unbroken copy runs
the same tests first: they must pass there, or nothing below means anything. Prints one
line per breakage and, last, the ones that went unnoticed (the goal: none).

Most breakages are noticed by mutants (tests/mutants/): each names the check that must
fail it, so a check switched off is noticed even where another check would still fail
the mutant for the wrong reason. Every check name the grader's checks use has a
breakage here; a new one is listed at the end until it gets one. So does every task with
forbidden calls: its list emptied must fail one of its rule mutants.

Around the checks, the grading core: a warm child's containment against what
``autograder doctor`` says, ``exp.nb_XX`` imports, the run settings (aliases, time limit)
from the command line through a class run and into the resume hash, and student names.
"""
from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MUTANT_TEST = "tests/test_mutants.py::test_mutant_fails_its_task_and_only_that[{}]"
TIME_LIMIT = 900.0  # seconds for one breakage's tests; past it they count as hung


@dataclass(frozen=True)
class Edit:
    file: str  # relative to the repository
    old: str  # must occur exactly once, so a breakage never applies somewhere unintended
    new: str


@dataclass(frozen=True)
class Breakage:
    name: str
    edits: tuple[Edit, ...]
    tests: tuple[str, ...]  # pytest node ids that should fail once it is applied
    checks: tuple[str, ...] = ()  # the check names it switches off or weakens
    time_limit: float = TIME_LIMIT


def mutants(*names: str) -> tuple[str, ...]:
    for name in names:
        if not (REPO / "tests" / "mutants" / f"{name}.py").is_file():
            raise SystemExit(f"breakages.py names a mutant that does not exist: {name}")
    return tuple(MUTANT_TEST.format(name) for name in names)


def switched_off(check: str) -> Edit:
    """Every ``t.expect(condition, check, ...)`` under this check name passes."""
    return Edit("autograder/checking.py", "        if not condition:\n",
                f"        if not condition and check != {check!r}:\n")


def never(file: str, condition: str) -> Edit:
    """``if <condition>:`` becomes ``if False:``."""
    return Edit(file, f"if {condition}:", "if False:")


CHECKING, SPEED, RULES = "autograder/checking.py", "autograder/speed.py", "autograder/rules.py"
LESSON02, ENFORCEMENT = "autograder/checks/lesson02.py", "autograder/enforcement.py"
STATISTIC = '        t.expect({}, "statistics",'

BREAKAGES = [
    Breakage("static rules off (no violation read from the source)", (Edit(
        ENFORCEMENT, "in _forbidden_first(rules.static_violations(t.task.id, definitions, module))", "in []"),),
        mutants("matmul_broadcast_mm_on_an_untaken_branch"), ("rules",)),
    Breakage("traced rules off (the child's torch calls ignored)", (never(ENFORCEMENT, "t.traces"),),
             mutants("matmul_broadcast_getattr_einsum"), ("rules",)),
    Breakage("required calls never missing (static and traced)", (
        Edit(RULES, "for p in rule.required if p not in seen_required]", "for p in ()]"),
        Edit(RULES, "for p in rule.required if p not in seen_required}", "for p in ()}")),
        mutants("kaiming_torch_by_hand"), ("rules",)),
    Breakage("rules check not called", (Edit(
        "autograder/grading.py", "        enforcement.check_rules(context, lesson_file)\n", ""),),
        mutants("relu_uses_torch_relu", "mse_uses_f_mse_loss"), ("rules",)),
    Breakage("call count off (work may grow with anything)", (never(SPEED, "scaled > base"),),
             mutants("matmul_einsum_per_row", "pytorch_matmul_loops_over_rows"), ("speed (work)",)),
    Breakage("memory check off (any temporary allowed)", (never(SPEED, "largest >= batch * n_in * n_out"),),
             mutants("fast_lin_still_outer_product"), ("speed (memory)",)),
    Breakage("wall-clock ratio limit x1000", (Edit(SPEED, "if ratio > limit:", "if ratio > limit * 1000:"),),
             mutants("matmul_einsum_with_python_busy_work", "pytorch_matmul_slow_only_when_large"),
             ("speed (time)",)),
    Breakage("wall-clock ratio limit /100 (the reference fails)",
             (Edit(SPEED, "if ratio > limit:", "if ratio > limit / 100:"),),
             mutants("frobenius_no_sqrt"), ("speed (time)",)),
    Breakage("type check off", (never(CHECKING, "not isinstance(got, torch.Tensor)"),),
             mutants("get_data_returns_numpy"), ("type",)),
    Breakage("shape check forced to pass", (switched_off("shape"),),
             mutants("einsum_transposed", "mse_grad_squeezed"), ("shape",)),
    Breakage("dtype check forced to pass", (switched_off("dtype"),),
             mutants("pytorch_matmul_returns_float64"), ("dtype",)),
    Breakage("NaN/inf check off", (never(CHECKING, "not torch.isfinite(got).all() and torch.isfinite(expected).all()"),),
             mutants("relu_sign_by_division"), ("finite",)),
    Breakage("values check off", (
        never(CHECKING, "not torch.allclose(got.double(), expected.double(), rtol=rtol, atol=atol)"),
        switched_off("values")),
        mutants("normalize_swapped", "near_default_tolerance", "model_no_relu"), ("values",)),
    Breakage("value tolerances x1000 looser", (Edit(
        CHECKING, "rtol: float = 1e-4,\n                      atol: float = 1e-5,",
        "rtol: float = 1e-1,\n                      atol: float = 1e-2,"),),
        mutants("lin_in_half_precision"), ("values",)),
    Breakage("side-effect check off", (
        Edit(LESSON02, "if isinstance(old, torch.Tensor) and not", "if False and not"),
        switched_off("side effects")),
        mutants("relu_in_place", "relu_returns_input_when_positive", "mse_grad_squeezes_inp_in_place"),
        ("side effects",)),
    Breakage("gradient check off", (Edit(
        LESSON02, '    """A hand-computed gradient against autograd\'s', '    return\n    """'),),
        mutants("mse_grad_missing_factor_2", "relu_class_backward_wrong", "fast_lin_wrong_bias"), ("gradients",)),
    Breakage("statistics off", (switched_off("statistics"),),
             mutants("he_init_uniform", "kaiming_torch_fan_in"), ("statistics",)),
    Breakage("statistics: the std not checked", (Edit(
        LESSON02, STATISTIC.format("abs(std / target - 1) < 6 / math.sqrt(2 * n)"), STATISTIC.format("True")),),
        mutants("he_init_fan_out"), ("statistics",)),
    Breakage("statistics: the mean not checked", (Edit(
        LESSON02, STATISTIC.format("abs(mean) < 6 * std / math.sqrt(n)"), STATISTIC.format("True")),),
        mutants("he_init_shifted_up"), ("statistics",)),
    Breakage("statistics: the bell shape not checked", (Edit(
        LESSON02, STATISTIC.format("abs(within - 0.6827) < 6 * math.sqrt(0.6827 * 0.3173 / n)"),
        STATISTIC.format("True")),), mutants("he_init_uniform"), ("statistics",)),
    Breakage("statistics: repeated values not checked", (Edit(
        LESSON02, 't.expect(not torch.equal(got, again), "statistics"', 't.expect(True, "statistics"'),),
        mutants("he_init_same_every_call"), ("statistics",)),
    Breakage("hints never given", (Edit(CHECKING, "for key, predicate in hints:", "for key, predicate in ():"),),
             mutants("mse_broadcast_bug", "mse_grad_missing_mean"), ()),
    Breakage("raises check off", (switched_off("raises"),),
             mutants("test_swallows_failure", "test_near_never_raises", "test_near_zero_no_abs"), ("raises",)),
    Breakage("message check off", (switched_off("message"),), mutants("test_message_without_values"), ("message",)),
    Breakage("built-on-test check off", (switched_off("built on test"),),
             mutants("test_eq_not_built_on_test"), ("built on test",)),
    Breakage("returns check off", (switched_off("returns"),),
             mutants("get_data_keeps_test_split"), ("returns",)),
    Breakage("inner-dimensions check off", (switched_off("inner dimensions"),),
             mutants("matmul_loops_no_assert"), ("inner dimensions",)),
    Breakage("stores check off", (switched_off("stores"),),
             mutants("module_keeps_args_under_another_name"), ("stores",)),
    Breakage("forward check off", (switched_off("forward"),), mutants("module_forward_silent"), ("forward",)),
    Breakage("a raise in student code ignored", (never(CHECKING, 'reply["raised"] and not expect_raise'),),
             mutants("matmul_broadcast_wrong_axis", "test_eq_compares_identity"), ("runs",)),
    Breakage("NotImplementedError reported as any raise", (never(CHECKING, 'raised.get("type") == "NotImplementedError"'),),
             ("tests/test_pytest_plugin.py::test_a_failing_task_fails_its_item_with_the_grader_message",),
             ("implemented",)),
    Breakage("the wire falls back to pickle for what it does not know (pickle runs code)", (Edit(
        "autograder/wire.py", 'raise WireError(f"unknown tag {tag!r} at byte {self.at - 1}")',
        'return __import__("pickle").loads(bytes(self.payload[self.at - 1:]))'),),
        ("tests/test_engine.py::test_wire_refuses_a_pickle_that_runs_code",)),
    Breakage("a request's timeout ignored", (Edit(
        "autograder/runner.py", "deadline = started + timeout\n", "deadline = started + 1e6\n"),),
        ("tests/test_broken_inputs.py::test_an_infinite_loop_times_out_and_grading_goes_on",), (), 240.0),
    Breakage("a speed round passes whatever its time", (Edit(
        "autograder/speed.py", "if least <= limit * known.least:", "if True:"),),
        ("tests/test_speed.py",)),
    Breakage("the reference's least time never re-checked", (Edit(
        "autograder/speed.py", "elif known.uses % REFERENCE_REFRESH == 0:", "elif False:"),),
        ("tests/test_speed.py",)),
    Breakage("the submission's time limit ignored", (Edit(
        "autograder/runner.py", "return self.deadline is not None and time.monotonic() >= self.deadline",
        "return False"),), ("tests/test_time_limit.py",), (), 300.0),
]


# -- the grading core around the checks: containment, imports, run settings, entries ----------

WARM_CONTAINED = "tests/test_warm_start.py::test_a_warm_child_is_contained_as_the_doctor_says"
OWN_EXPORT = ("tests/test_real_notebooks.py::"
              "test_exp_imports_are_the_students_export_even_where_the_kit_answers_otherwise")
SETTINGS = "tests/test_class_settings.py::"
ALIAS_CLI = SETTINGS + "test_an_alias_on_the_command_line_grades_the_renamed_function"
ALIAS_CLASS = SETTINGS + "test_an_alias_reaches_every_student_of_a_class_run"
LIMIT_CLASS = SETTINGS + "test_the_time_limit_reaches_every_student_of_a_class_run"
RESUME = (SETTINGS + "test_a_class_run_with_other_settings_grades_again",
          "tests/test_class_outputs.py::test_every_run_setting_is_in_the_resume_hash")
EXPORTED = "[(c.source, c.filename) for c in cells if c.exported]"
KIT_LESSON = ('[(p.read_text(), p.name) for p in Path(__file__).resolve().parents[1].joinpath("solutions")'
              '.glob(f"l{source_file.number}_*.py")]')
HASHED = "settings = [self.single, self.task_ids, self.seed, self.aliases, self.time_limit]"
SUBMISSION, CLI, ENTRIES, WORK = ("autograder/reading/submission.py", "autograder/cli.py", "autograder/classroom/entries.py",
                                  "autograder/classroom/work.py")


def _hash_without(setting: str) -> Edit:
    return Edit(ENTRIES, HASHED, HASHED.replace(f", self.{setting}", ""))


BREAKAGES += [
    Breakage("Landlock off in warm children only (doctor still says files by landlock)", (Edit(
        "autograder/sandbox/forkserver.py", "            if self.restrict:  # after the mounts",
        "            if False:  # after the mounts"),), (WARM_CONTAINED,)),
    Breakage("exp.nb_XX resolved to the kit's solutions, not the student's export",
             (Edit(SUBMISSION, EXPORTED, KIT_LESSON),), (OWN_EXPORT,)),
    Breakage("exp.nb_XX: the kit's names win over the student's exported ones",
             (Edit(SUBMISSION, EXPORTED, f"{EXPORTED} + {KIT_LESSON}"),), (OWN_EXPORT,)),
    Breakage("--alias parsed but ignored by the command line", (Edit(
        CLI, "[*config_aliases(args.path), *(args.alias or [])]", "[*config_aliases(args.path)]"),),
        (ALIAS_CLI, ALIAS_CLASS)),
    Breakage("aliases dropped in class runs", (Edit(WORK, "aliases=job.aliases,", "aliases=None,"),),
             (ALIAS_CLASS,)),
    Breakage("grade --out --time-limit dropped by the command line", (Edit(
        CLI, "scheduler=args.scheduler, time_limit=_time_limit(args))", "scheduler=args.scheduler, time_limit=None)"),),
        (LIMIT_CLASS,), (), 400.0),
    Breakage("time limit dropped by the class run", (Edit(WORK, "time_limit=job.time_limit)", "time_limit=None)"),),
             (LIMIT_CLASS,), (), 400.0),
    Breakage("resume hash without the tasks", (_hash_without("task_ids"),), RESUME),
    Breakage("resume hash without the aliases", (_hash_without("aliases"),), RESUME),
    Breakage("resume hash without the time limit", (_hash_without("time_limit"),), RESUME),
    Breakage("nbgrader student names not cleaned", (Edit(
        ENTRIES, "Entry(safe_name(p.name), p, nbgrader=True)", "Entry(p.name, p, nbgrader=True)"),),
        ("tests/test_class_outputs.py::test_nbgrader_student_names_are_cleaned_as_every_other_entry_is",)),
]


def rule_mutants() -> dict[str, list[str]]:
    """Task -> the mutants whose header says they fail its ``rules`` check."""
    found: dict[str, list[str]] = {}
    for path in sorted((REPO / "tests" / "mutants").glob("*.py")):
        text = path.read_text()
        task = re.match(r"# fails: (\d+\.\d+)\n", text)
        if task and re.search(r"^# check: rules$", text, re.MULTILINE):
            found.setdefault(task[1], []).append(path.stem)
    return found


def forbidden_emptied() -> list[Breakage]:
    """One breakage per task with forbidden calls: its forbidden list emptied (its required
    calls kept). A task without a rule mutant gets a breakage with no test: unnoticed."""
    sys.path.insert(0, str(REPO))
    try:
        from autograder.rules import RULES
    finally:
        sys.path.remove(str(REPO))
    by_task = rule_mutants()
    made = []
    for task, rule in RULES.items():
        if rule.forbidden:
            edit = Edit(RULES_FILE, "\n_REQUIRED_NAMES = {",
                        f"\nRULES[{task!r}] = Rule((), RULES[{task!r}].required, RULES[{task!r}].topic)"
                        "\n_REQUIRED_NAMES = {")
            made.append(Breakage(f"forbidden calls of {task} emptied", (edit,), mutants(*by_task.get(task, ())),
                                 ("rules",)))
    return made


RULES_FILE = RULES
BREAKAGES += forbidden_emptied()


def copy_repository(destination: Path) -> None:
    ignore = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", ".pytest_cache")
    for entry in REPO.iterdir():
        if entry.name in (".git", ".pytest_cache", "__pycache__"):
            continue
        if entry.is_dir():
            shutil.copytree(entry, destination / entry.name, ignore=ignore)
        else:
            shutil.copy2(entry, destination / entry.name)


def apply(copy: Path, edits: tuple[Edit, ...]) -> dict[Path, str]:
    """Apply the edits; return the original text of every file touched."""
    originals: dict[Path, str] = {}
    for edit in edits:
        path = copy / edit.file
        if path not in originals:
            originals[path] = path.read_text()
        text = path.read_text()
        if text.count(edit.old) != 1:
            restore(originals)
            raise LookupError(f"{edit.file} has {text.count(edit.old)} copies of {edit.old!r}, not 1: "
                              "the grader changed, so this breakage needs updating")
        path.write_text(text.replace(edit.old, edit.new))
    return originals


def restore(originals: dict[Path, str]) -> None:
    for path, text in originals.items():
        path.write_text(text)


@dataclass(frozen=True)
class Run:
    failed: list[str]  # the tests that failed (or errored)
    passed: bool
    hung: bool
    seconds: float
    output: str


def run_tests(copy: Path, tests: tuple[str, ...], time_limit: float) -> Run:
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("AUTOGRADER_SOLUTIONS", None)  # the copy's own solutions/ are the reference
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", *tests]
    start = time.monotonic()
    process = subprocess.Popen(command, cwd=copy, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=time_limit)
        hung = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the session this script started, and only it
        output, _ = process.communicate()
        hung = True
    failed = re.findall(r"^(?:FAILED|ERROR) (tests/\S+)", output, re.MULTILINE)  # not pytester's own
    return Run(failed, process.returncode == 0 and not hung, hung, time.monotonic() - start, output)


def short(test_id: str) -> str:
    """``mutant relu_in_place`` for a mutant's test, the test's own name otherwise."""
    mutant = re.fullmatch(re.escape(MUTANT_TEST).replace(r"\{\}", "(.+)"), test_id)
    return f"mutant {mutant[1]}" if mutant else test_id.rsplit("::", 1)[-1]


def check_names_in_grader() -> set[str]:
    """Every check name the grader's checks can fail with: ``t.expect(..., "name", ...)``,
    ``CheckFailed("name", ...)``, and the mutants' own declarations."""
    sources = [REPO / "autograder" / "checking.py", REPO / "autograder" / "speed.py",
               *(REPO / "autograder" / "checks").glob("*.py")]
    names = set()
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            function = getattr(node.func, "attr", getattr(node.func, "id", ""))
            position = {"CheckFailed": 0, "expect": 1}.get(function)
            if position is not None and len(node.args) > position \
                    and isinstance(node.args[position], ast.Constant):
                names.add(node.args[position].value)
    for path in (REPO / "tests" / "mutants").glob("*.py"):
        names |= set(re.findall(r"^# check: (.+)$", path.read_text(), re.MULTILINE))
    return names


def uncovered() -> set[str]:
    return check_names_in_grader() - {check for b in BREAKAGES for check in b.checks}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="breakages whose name contains one of these words")
    parser.add_argument("--list", action="store_true", help="list the breakages and stop")
    options = parser.parse_args()
    chosen = [b for b in BREAKAGES if not options.only or any(w in b.name for w in options.only)]
    if options.list:  # and check that each still applies, on a copy of the grader alone
        with tempfile.TemporaryDirectory(prefix="breakages-") as folder:
            shutil.copytree(REPO / "autograder", Path(folder) / "autograder")
            for breakage in chosen:
                try:
                    restore(apply(Path(folder), breakage.edits))
                    state = "applies"
                except LookupError as exc:
                    state = f"CANNOT APPLY: {exc}"
                print(f"{breakage.name}: {len(breakage.tests) or 'NO'} tests; {state}")
        print(f"check names with no breakage: {', '.join(sorted(uncovered())) or 'none'}")
        return 0
    unnoticed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="breakages-") as folder:
        copy = Path(folder)
        copy_repository(copy)
        every_test = tuple(dict.fromkeys(t for b in chosen for t in b.tests))
        baseline = run_tests(copy, every_test, TIME_LIMIT * 2)
        print(f"unbroken copy: {len(every_test)} tests, {'all pass' if baseline.passed else 'FAILING'} "
              f"({baseline.seconds:.0f} s)", flush=True)
        if not baseline.passed:
            print(baseline.output[-4000:])
            return 2
        for breakage in chosen:
            if not breakage.tests:
                print(f"  NO TEST       {breakage.name}: nothing would notice it", flush=True)
                unnoticed.append(breakage.name)
                continue
            try:
                originals = apply(copy, breakage.edits)
            except LookupError as exc:
                print(f"  CANNOT APPLY  {breakage.name}: {exc}", flush=True)
                unnoticed.append(breakage.name)
                continue
            try:
                run = run_tests(copy, breakage.tests, breakage.time_limit)
            finally:
                restore(originals)
            if run.passed:
                unnoticed.append(breakage.name)
                verdict = f"UNNOTICED     {breakage.name}: all {len(breakage.tests)} tests pass"
            elif run.hung:
                verdict = f"noticed       {breakage.name}: the tests hang (stopped after {run.seconds:.0f} s)"
            else:
                names = ", ".join(short(name) for name in run.failed[:2]) or "pytest exit status"
                more = f" (+{len(run.failed) - 2})" if len(run.failed) > 2 else ""
                verdict = (f"noticed       {breakage.name}: {len(run.failed)}/{len(breakage.tests)} "
                           f"fail: {names}{more}")
            print(f"  {verdict} [{run.seconds:.0f} s]", flush=True)
    print(f"\n{len(chosen) - len(unnoticed)}/{len(chosen)} breakages noticed; unnoticed: "
          f"{', '.join(unnoticed) or 'none'}")
    print(f"check names with no breakage: {', '.join(sorted(uncovered())) or 'none'}")
    return 1 if unnoticed else 0


if __name__ == "__main__":
    sys.exit(main())
