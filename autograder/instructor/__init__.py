"""What only the instructor's copy of the grader holds: never in a student release, never
in the published wheel.

``answers``: working versions of lesson 04's tasks, used as stand-ins while grading the
tasks built on them (the Runner on ``TrainEvalCallback``), so one mistake costs the
points of its own task only. ``hidden``: the hidden checks. Where this package is
absent, the grader uses the student's own definitions instead and says so
(``scenarios.standin``).
"""
