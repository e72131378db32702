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

The class path (``--only class:``): every place the class report and the feedback write a
student's text, each cap on an entry at its edge, the time limit in local and Dask runs,
resume, folder names, the CSV guard, the lock on OUT, pool processes dying with the run,
each output format and the releases; one break per promise.
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
        "autograder/grading.py", "        enforcement.check_rules(context, loaded)\n", ""),),
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
KIT_LESSON = ('[(p.read_text(), p.name) for p in Path(__file__).resolve().parents[2].joinpath("solutions")'
              '.glob(f"l{source_file.number}_*.py")]')
HASHED = "settings = [self.single, self.task_ids, self.seed, self.aliases, self.time_limit, self.notes]"
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
        CLI, "scheduler=args.scheduler, time_limit=_time_limit(args),", "scheduler=args.scheduler, time_limit=None,"),),
        (LIMIT_CLASS,), (), 400.0),
    Breakage("time limit dropped by the class run", (Edit(WORK, "time_limit=job.time_limit)", "time_limit=None)"),),
             (LIMIT_CLASS,), (), 400.0),
    Breakage("resume hash without the tasks", (_hash_without("task_ids"),), RESUME),
    Breakage("resume hash without the aliases", (_hash_without("aliases"),), RESUME),
    Breakage("resume hash without the time limit", (_hash_without("time_limit"),), RESUME),
    Breakage("nbgrader student names not cleaned", (Edit(
        ENTRIES, "names = folder_names([(path.name, name) for path, name, _, _ in found])",
        "names = {**folder_names([(path.name, name) for path, name, _, nb in found if not nb]),"
        " **{path.name: name for path, name, _, nb in found if nb}}"),),
        ("tests/test_class_outputs.py::test_nbgrader_student_names_are_cleaned_as_every_other_entry_is",)),
]


# -- the class path: classroom/, outputs/, releases/ (run them alone: --only class:) ----------------

REPORT, FEEDBACK, ZIPS, RUN = ("autograder/outputs/class_report.py", "autograder/outputs/feedback.py",
                               "autograder/classroom/zips.py", "autograder/classroom/run.py")
GUARDS = "tests/test_class_guards.py::"
ESCAPED = GUARDS + "test_no_student_text_runs_as_script_in_the_report_or_the_feedback"
CAPS = (GUARDS + "test_each_cap_grades_one_under_and_refuses_one_over_with_its_reason",
        GUARDS + "test_the_rest_of_a_class_with_refused_entries_is_graded")
LOOPS = (GUARDS + "test_a_student_who_loops_forever_is_an_error_row_after_the_limit",
         GUARDS + "test_a_student_who_loops_forever_is_an_error_row_after_the_limit_on_dask")
OUTPUTS, ACCOUNTING = "tests/test_class_outputs.py::", "tests/test_class_accounting.py::"
EXAMPLE = "tests/test_example_class.py::"


def unescaped(file: str, escaped: str, raw: str, what: str) -> Breakage:
    return Breakage(f"class: {what} written unescaped", (Edit(file, escaped, raw),), (ESCAPED,))


def cap_plus_one(file: str, what: str, *checks: str) -> Breakage:
    """The cap's comparison lets one more through: only a test at the edge notices."""
    edits = tuple(Edit(file, check, check.replace("MAX_FILE_BYTES,", "MAX_FILE_BYTES + 1,")
                       .replace("MAX_TOTAL_BYTES,", "MAX_TOTAL_BYTES + 1,").replace(">= ", "> "))
                  for check in checks)
    return Breakage(f"class: {what} cap lets one more through", edits, CAPS)


BREAKAGES += [
    unescaped(REPORT, "{html.escape(record.name)}</a>", "{record.name}</a>", "report: the student's name"),
    Breakage("class: report: the student's folder written raw into its link", (
        Edit(REPORT, 'quote(f"students/{record.student}/{feedback.HTML}")', 'f"students/{record.student}/{feedback.HTML}"'),
        Edit(REPORT, '<a href="{html.escape(href)}">', '<a href="{href}">')), (ESCAPED,)),
    unescaped(REPORT, "{html.escape(pattern[:300])}", "{pattern[:300]}", "report: a failure message"),
    unescaped(REPORT, "', '.join(html.escape(s) for s in students)", "', '.join(students)",
              "report: the students of a failure"),
    unescaped(REPORT, "{html.escape(names.get(task_id, ''))}", "{names.get(task_id, '')}", "report: a task's name"),
    unescaped(REPORT, "{html.escape(where)}", "{where}", "report: where a rule or speed row's task was found"),
    unescaped(REPORT, "{html.escape(_PREFIX.sub('', task.message))}", "{_PREFIX.sub('', task.message)}",
              "report: a rule or speed row's message"),
    unescaped(REPORT, "{html.escape(flag)}", "{flag}", "report: a flag"),
    unescaped(REPORT, "{html.escape(r.error)}", "{r.error}", "report: why a student was not graded"),
    Breakage("class: report: speed failures left out of the speed rows", (Edit(
        REPORT, 'SPEED_CHECKS = {"speed", "speed (work)", "speed (memory)", "speed (time)"}', 'SPEED_CHECKS = {"speed"}'),),
        (GUARDS + "test_every_speed_failure_is_a_speed_row_of_the_report",
         GUARDS + "test_every_speed_check_the_grader_names_is_one_the_report_knows")),
    unescaped(FEEDBACK, "<h1>Feedback for {escape(record.name)}</h1>", "<h1>Feedback for {record.name}</h1>",
              "feedback: the student's name"),
    unescaped(FEEDBACK, "<title>{html.escape(title)}</title>", "<title>{title}</title>", "feedback: the page title"),
    unescaped(FEEDBACK, "escape(UNGRADED.format(error=record.error))", "UNGRADED.format(error=record.error)",
              "feedback: why the student was not graded"),
    unescaped(FEEDBACK, 'f"<td>{escape(value)}</td>" for value in cells', 'f"<td>{value}</td>" for value in cells',
              "feedback: the task table's cells"),
    unescaped(FEEDBACK, "{escape(task.name)}</h3>", "{task.name}</h3>", "feedback: a task's name"),
    unescaped(FEEDBACK, "<pre>{escape(message(row, published))}</pre>", "<pre>{message(row, published)}</pre>",
              "feedback: a task's message"),
    unescaped(FEEDBACK, "Found at {escape(location(task))}.", "Found at {location(task)}.",
              "feedback: where a task was found"),
    unescaped(FEEDBACK, "<li>Note: {escape(note)}</li>", "<li>Note: {note}</li>", "feedback: notes and flags"),
    cap_plus_one(ENTRIES, "a folder's file count", "if len(files) >= MAX_FILES:"),
    cap_plus_one(ENTRIES, "a file's size", "_check_size(entry, os.fstat(descriptor).st_size, MAX_FILE_BYTES, what)",
                 "_check_size(entry, len(content), MAX_FILE_BYTES, what)"),
    cap_plus_one(ENTRIES, "a folder's total size", '_check_size(entry, total, MAX_TOTAL_BYTES, "the submission")'),
    cap_plus_one(ZIPS, "a zip's member count", "if len(files) >= entries.MAX_FILES:"),
    cap_plus_one(ZIPS, "a zip member's size", "entries._check_size(entry, member.file_size, entries.MAX_FILE_BYTES, name)",
                 "entries._check_size(entry, len(content), entries.MAX_FILE_BYTES, name)"),
    cap_plus_one(ZIPS, "a zip's unpacked total", 'entries.MAX_TOTAL_BYTES, "the unpacked zip"'),
    Breakage("class: one refused entry stops the grading of the rest", (Edit(
        RUN, "graded = [j for j in todo if not j.problem]",
        "graded = [j for j in todo if not j.problem] if not any(j.problem for j in todo) else []"),), CAPS),
    Breakage("class: the time limit not given to any student (local and Dask)", (Edit(
        RUN, "job.aliases, job.time_limit = aliases or {}, time_limit", "job.aliases, job.time_limit = aliases or {}, None"),),
        LOOPS, (), 400.0),
    Breakage("class: resume keeps a record whose submission or settings changed", (Edit(
        RUN, "if kept is not None and kept.content_hash == job.content_hash and kept.source == job.source:",
        "if kept is not None:"),), (SETTINGS + "test_a_class_run_with_other_settings_grades_again",), (), 400.0),
    Breakage("class: two names that clash once cleaned share a folder", (Edit(
        ENTRIES, "for length in (8, 16, 64):", "for length in ():"),),
        (ACCOUNTING + "test_folder_names_are_stable_unique_and_short",)),
    Breakage("class: student folders beside the class files (a student named gradebook.csv takes its place)", (Edit(
        RUN, "return Path(out) / STUDENTS / student", "return Path(out) / student"),),
        (GUARDS + "test_a_student_named_as_a_class_file_never_takes_its_place",)),
    Breakage("class: gradebook: the CSV guard against formulas off", (Edit(
        "autograder/outputs/gradebook.py", """return "'" + value if value.startswith(FORMULA_STARTS) else value""",
        "return value"),), (OUTPUTS + "test_a_name_a_spreadsheet_would_evaluate_is_written_as_text",)),
    Breakage("class: the lock on OUT shared (two runs at once)", (Edit(
        "autograder/classroom/lock.py", "fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)",
        "fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)"),),
        (ACCOUNTING + "test_out_held_by_a_run_is_refused_naming_it",)),
    Breakage("class: pool processes outlive a killed run", (Edit(
        "autograder/classroom/executors.py", "prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)",
        "prctl(_PR_SET_PDEATHSIG, 0, 0, 0, 0)"),),
        (ACCOUNTING + "test_a_run_stopped_midway_leaves_no_process_and_resumes_whole[SIGKILL]",), (), 900.0),
    Breakage("class: gradebook: an ungraded student gets a score of 0", (Edit(
        "autograder/outputs/gradebook.py", 'writer.writerow([text_cell(record.name), "", "",',
        'writer.writerow([text_cell(record.name), "0", "",'),),
        (OUTPUTS + "test_gradebook_has_one_row_per_student_and_one_column_per_task",)),
    Breakage("class: JUnit: a task that could not be graded counted as a failure", (Edit(
        "autograder/outputs/junit.py", 'kind = "failure" if task.status == FAILED else "error"', 'kind = "failure"'),),
        (OUTPUTS + "test_junit_parses_with_failures_and_errors_counted",)),
    Breakage("class: Gradescope: the score is the maximum", (Edit(
        "autograder/outputs/gradescope.py", 'data["score"] = result.score', 'data["score"] = result.max_score'),),
        (OUTPUTS + "test_gradescope_results_follow_the_schema",)),
    Breakage("class: feedback: the grader's message left out", (Edit(
        FEEDBACK, "        lines += [message(row, published), \"\"]\n", ""),),
        (OUTPUTS + "test_feedback_shows_each_task_and_where_it_was_found",)),
    Breakage("class: releases: solution lines kept in the exercises", (Edit(
        "autograder/releases/exercises.py", "        elif begin is None:\n            kept.append(line)",
        "        else:\n            kept.append(line)"),),
        ("tests/test_release.py::test_each_region_becomes_one_task_named_raise_and_the_rest_is_kept",
         "tests/test_release.py::test_committed_exercises_equal_a_fresh_release")),
    Breakage("class: releases: the instructor's hidden checks shipped to students", (Edit(
        "autograder/releases/student.py", "    return written\n\n\ndef _write",
        '    shutil.copytree(KIT / "instructor", target / "instructor")\n    return written\n\n\ndef _write'),),
        ("tests/test_student_release.py::test_no_solutions_and_no_hidden_checks_are_in_the_release",)),
    Breakage("class: releases: Gradescope shows hidden checks before grades are published", (Edit(
        "autograder/releases/gradescope.py", "AFTER_PUBLISHED if row.hidden else VISIBLE", "VISIBLE"),),
        ("tests/test_gradescope_release.py::test_results_json_follows_the_gradescope_schema",)),
    Breakage("class: feedback: the hidden checks' rows left out (the rows no longer add up to the score)", (Edit(
        FEEDBACK, "for row in rows(record.result)]", "for row in rows(record.result) if not row.hidden]"),),
        (EXAMPLE + "test_every_students_rows_add_up_to_their_score_in_every_output",), (), 400.0),
    Breakage("class: JUnit: the hidden checks' test cases left out", (Edit(
        "autograder/outputs/junit.py", "scored = rows(record.result) if record.graded else []",
        "scored = [row for row in rows(record.result) if not row.hidden] if record.graded else []"),),
        (EXAMPLE + "test_every_students_rows_add_up_to_their_score_in_every_output",), (), 400.0),
    Breakage("class: feedback: a hidden check's message shown before grades are published", (Edit(
        FEEDBACK, "return HIDDEN_MESSAGE if row.hidden and not published else row.task.message",
        "return row.task.message"),),
        (OUTPUTS + "test_a_hidden_check_is_a_row_whose_message_waits_for_publishing",)),
    Breakage("class: the pass score left out of a class run's exit status", (Edit(
        CLI, "return 0 if not report.ungraded and not failing else 1", "return 0 if not report.ungraded else 1"),),
        (EXAMPLE + "test_a_pass_score_marks_who_passes_and_sets_the_exit_status",), (), 400.0),
    Breakage("class: results left private to the grader's account (0600 files, 0700 folders)", (
        Edit("autograder/outputs/files.py", "    os.chmod(staging, folder_mode())\n", ""),
        Edit("autograder/outputs/files.py", "        os.chmod(temporary, file_mode())  # whole now", "        # whole now")),
        (OUTPUTS + "test_results_get_the_modes_of_the_umask_and_half_written_ones_stay_private[umask 022]",)),
    Breakage("class: the run's lock file readable by others (who could then hold OUT)", (Edit(
        "autograder/classroom/lock.py", "LOCK_MODE = 0o600", "LOCK_MODE = 0o644"),),
        (OUTPUTS + "test_results_get_the_modes_of_the_umask_and_half_written_ones_stay_private[umask 022]",)),
]


# -- similar submissions: what must match, what must not count, what the report shows -----------

SIMILAR = "tests/test_similarity.py::"
PAIRS, TOKENS = "autograder/similarity/pairs.py", "autograder/similarity/fingerprints.py"
BREAKAGES += [
    Breakage("class: similarity: names not normalised", (Edit(TOKENS, 'text if kept else "V"', "text"),),
             (SIMILAR + "test_a_disguised_copy_is_flagged_with_its_tasks_and_lines",)),
    Breakage("class: similarity: the course's code counts", (Edit(
        PAIRS, "value is not None and value not in course.kgrams and", "value is not None and"),),
        (SIMILAR + "test_the_course_code_and_the_stubs_never_count",)),
    Breakage("class: similarity: a one-line answer is enough", (Edit(
        PAIRS, "MIN_TASK_TOKENS = 25", "MIN_TASK_TOKENS = 1"),),
        (SIMILAR + "test_a_short_answer_in_common_is_not_enough",)),
    Breakage("class: similarity: one student's two entries are a pair", (Edit(
        PAIRS, "if names.get(a, a) != names.get(b, b):", "if True:"),),
        (SIMILAR + "test_one_students_twins_are_not_a_pair",)),
    Breakage("class: similarity: a failed comparison stops the report", (Edit(
        PAIRS, "    except Exception as exc:  # noqa: BLE001", "    except ZeroDivisionError as exc:  # noqa: BLE001"),),
        (SIMILAR + "test_a_failure_of_the_comparison_leaves_the_report_whole",)),
    Breakage("class: similarity: a student's code written unescaped", (Edit(
        "autograder/outputs/similarity.py", "{html.escape(text)}'", "{text}'"),),
        (SIMILAR + "test_the_report_and_the_csv_show_the_pairs_escaped",)),
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
                verdict = f"noticed       {breakage.name}: {len(run.failed)} failed: {names}{more}"
            print(f"  {verdict} [{run.seconds:.0f} s]", flush=True)
    print(f"\n{len(chosen) - len(unnoticed)}/{len(chosen)} breakages noticed; unnoticed: "
          f"{', '.join(unnoticed) or 'none'}")
    print(f"check names with no breakage: {', '.join(sorted(uncovered())) or 'none'}")
    return 1 if unnoticed else 0


if __name__ == "__main__":
    sys.exit(main())
