# attacks: 0.2
# damage: writes into the grader's own code (the autograder package and its checks, the
#   checkout around it), to change how every later submission is graded
# needs: sandbox
import os

import autograder


def test_eq(a, b):
    package = os.path.dirname(autograder.__file__)
    for folder in (package, os.path.join(package, "checks"), os.path.join(package, "__pycache__"),
                   os.path.dirname(package)):
        try:
            with open(os.path.join(folder, "redteam-__TOKEN__.py"), "w") as file:
                file.write("raise SystemExit('graded by a student')\n")
        except OSError:
            pass
