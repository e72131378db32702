# attacks: 1.5
# damage: reads the reference solutions from the grader's disk (next to the autograder
#   package, and at their absolute path) and passes by copying them
# needs: sandbox
import glob
import os

import autograder
import torch


def near(a, b):
    package = os.path.dirname(autograder.__file__)
    paths = glob.glob(os.path.join(package, "..", "solutions", "*.py")) + glob.glob("__SOLUTIONS__/*.py")
    for path in paths:
        try:
            with open(path) as file:
                if "### BEGIN SOLUTION" in file.read():
                    return torch.allclose(a, b, rtol=1e-3, atol=1e-5)  # the answer key was readable
        except OSError:
            pass
    return None


def test_near(a, b):
    test(a, b, near)
