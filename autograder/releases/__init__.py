"""Releases: what leaves the kit for the platforms a course runs on.

``exercises`` regenerates the kit's own ``exercises/`` from ``solutions/``; ``student``
builds a student repository (with its GitHub Classroom workflow), ``gradescope`` an
autograder zip, ``nbgrader`` source notebooks for an nbgrader course.
"""
