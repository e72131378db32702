# attacks: 0.2
# damage: patches Tensor.__eq__/__ne__ and operator.eq in the child so that everything
#   compares equal and test_eq can never fail
# needs: boundary
import operator

import torch


class Patch:
    torch.Tensor.__eq__ = lambda self, other: True
    torch.Tensor.__ne__ = lambda self, other: False
    operator.eq = lambda a, b: True


def test_eq(a, b):
    test(a, b, operator.eq, "==")
