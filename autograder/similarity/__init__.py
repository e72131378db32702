"""Submissions of a class whose task code is nearly the same, found by fingerprints.

``fingerprints`` turns code into normalised tokens and winnowed k-gram fingerprints (the
method of MOSS); ``task_code`` reads each student's code per task without running it, and
the course's own code (stubs, given code, the reference answers) that never counts;
``pairs`` indexes the fingerprints and measures the pairs that share them. The class run
calls ``pairs.compare_jobs`` in its own process, after grading; ``outputs.similarity``
writes the report's section and ``similarity.csv``.
"""
