"""Grading a whole class: find the students, grade each in a pool, write every output.

``entries`` finds one entry per student (folder, notebook, ``.py``, ``.zip``, nbgrader's
``submitted/<student>/<assignment>/``) and reads it into a ``Job``: plain data (file
names and bytes) that any worker can grade, here or on another machine. ``work`` grades
one job with the one-submission engine (``grading.grade``); ``executors`` runs jobs in a
local process pool or on a Dask cluster; ``run`` ties them together, resumably.
"""
__all__ = ["grade_class"]


def __getattr__(name: str):
    """``grade_class`` is imported when first used: the package's light modules (``record``,
    ``passing``) do not pull in the run and every output format."""
    if name == "grade_class":
        from autograder.classroom.run import grade_class

        return grade_class
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
