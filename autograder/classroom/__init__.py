"""Grading a whole class: find the students, grade each in a pool, write every output.

``entries`` finds one entry per student (folder, notebook, ``.py``, ``.zip``, nbgrader's
``submitted/<student>/<assignment>/``) and reads it into a ``Job``: plain data (file
names and bytes) that any worker can grade, here or on another machine. ``work`` grades
one job with the one-submission engine (``grading.grade``); ``executors`` runs jobs in a
local process pool or on a Dask cluster; ``run`` ties them together, resumably.
"""
from autograder.classroom.run import grade_class

__all__ = ["grade_class"]
