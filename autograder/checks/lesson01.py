"""Lesson 01: data, the matmul ladder, the Frobenius norm, ``near``."""
from __future__ import annotations

from pathlib import Path

import torch

from autograder import data, messages
from autograder.checks import check

SMALL_SHAPES = [((3, 4), (4, 5)), ((1, 6), (6, 2)), ((5, 1), (1, 3)), ((4, 3), (3, 1))]
COURSE_SHAPE = ((5, 784), (784, 10))  # five validation digits times a 784x10 weight


@check("1.1")
def check_get_data(t):
    path = Path(t.scratch) / f"mnist_{int(t.randint(0, 10**6))}.pkl.gz"
    (x_train, y_train), (x_valid, y_valid), _ = data.write_mnist_pickle(
        path, n_train=int(t.randint(20, 40)), n_valid=int(t.randint(5, 15)), n_test=7,
        seed=int(t.randint(0, 2**31)))
    path.chmod(0o644)  # readable by the sandbox's user whatever the grader's umask
    # the course's get_data() takes no path: its download_data stand-in hands it this file
    got = t.call("get_data", str(path), download=str(path), param_names=["path"])["result"]
    t.expect(isinstance(got, list) and len(got) == 4, "returns", (
        "get_data should return four tensors: x_train, y_train, x_valid, y_valid (the test "
        f"split is dropped); it returned {_kind(got)}"))
    names = ["x_train", "y_train", "x_valid", "y_valid"]
    for name, value, array in zip(names, got, [x_train, y_train, x_valid, y_valid]):
        t.expect_tensor(value, torch.from_numpy(array), f"{name} from get_data", rtol=0, atol=0)


def _kind(value) -> str:
    if isinstance(value, list):
        return f"{len(value)} values"
    return value.get("__type__", "?") if isinstance(value, dict) else type(value).__name__


@check("1.2", "1.4", "1.6", "1.7", "1.8")
def check_matmul(t):
    shapes = SMALL_SHAPES if t.task.id == "1.2" else [COURSE_SHAPE, *SMALL_SHAPES]
    for shape_a, shape_b in shapes:
        a, b = t.randn(*shape_a), t.randn(*shape_b)
        got = t.call("matmul", a, b)["result"]
        t.expect_tensor(got, a @ b, f"matmul(a, b) for a {shape_a} and b {shape_b}",
                        rtol=1e-4, atol=1e-3, hints=[("result_shape_inner", lambda g, a=a, b=b: shape_a[0] != shape_a[1]
                                                      and tuple(g.shape) == (a.shape[1], b.shape[1]))])
    reply = t.call("matmul", t.randn(2, 3), t.randn(4, 2), expect_raise=True)
    t.expect(reply["raised"] is not None, "inner dimensions", messages.SHOULD_RAISE.format(
        function="matmul", expected="an error", when="for a (2, 3) and b (4, 2)"),
        messages.HINTS["no_inner_dim_check"])


@check("1.3")
def check_frobenius(t):
    example = torch.arange(1.0, 10.0).reshape(3, 3)
    got = _scalar(t.call("frobenius", example)["result"])
    t.expect_tensor(got, torch.tensor(16.8819), "frobenius([[1,2,3],[4,5,6],[7,8,9]])", atol=1e-4)
    for shape in [(4, 5), (1, 7), (6, 1)]:
        a = t.randn(*shape)
        got = _scalar(t.call("frobenius", a)["result"])
        t.expect_tensor(got, torch.linalg.norm(a), f"frobenius(a) for a {shape}")


def _scalar(value):
    """A Python number stands for a 0-d float32 tensor."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return torch.tensor(float(value))
    return value


@check("1.5")
def check_near(t):
    a = t.randn(4, 5, scale=10.0)
    tolerance = 1e-5 + 1e-3 * a.abs()
    inside = a + 0.3 * tolerance * torch.sign(t.randn(4, 5))
    outside = inside.clone()
    outside[1, 2] = a[1, 2] + 3 * tolerance[1, 2]
    for b, expected, where in [(inside, True, "inside"), (outside, False, "outside")]:
        got = t.call("near", a, b)["result"]
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = bool(got)
        t.expect(got is expected, "values", (
            f"near(a, b) returned {got!r} for b {where} the tolerance (rtol=1e-3, atol=1e-5); "
            f"expected {expected}"))
    t.call("test_near", a, inside)
    reply = t.call("test_near", a, outside, expect_raise=True)
    t.expect(reply["raised"] is not None, "raises", messages.SHOULD_RAISE.format(
        function="test_near", expected="AssertionError", when="when a and b are not near"))
