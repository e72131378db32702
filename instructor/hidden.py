"""Hidden checks: cases the student release does not carry.

Each is scored as a row of its own in instructor grading and on Gradescope (shown
after grades are published); students learn only how many there are. They defend
against answers fitted to the visible cases (a loop bound that happens to cover
the visible shapes).
"""
from __future__ import annotations

from autograder.checks import hidden_check

# Rows and columns beyond the visible shapes' (at most 5), and 1x1 corners.
LARGER_SHAPES = [((7, 3), (3, 9)), ((1, 1), (1, 1)), ((9, 2), (2, 1)), ((2, 11), (11, 6))]


@hidden_check("1.2", "larger and degenerate shapes")
def matmul_larger_shapes(t):
    for shape_a, shape_b in LARGER_SHAPES:
        a, b = t.randn(*shape_a), t.randn(*shape_b)
        got = t.call("matmul", a, b)["result"]
        t.expect_tensor(got, a @ b, f"matmul(a, b) for a {shape_a} and b {shape_b}", rtol=1e-4, atol=1e-3)
