# attacks: 1.7
# damage: returns a Tensor subclass that claims to equal anything (==, allclose, equal,
#   isclose), hoping the grader's comparison trusts it
# needs: boundary
import torch


class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal):
            return True
        if func in (torch.isclose, torch.eq, torch.Tensor.__eq__):
            return torch.ones(args[0].shape, dtype=torch.bool)
        return super().__torch_function__(func, types, args, kwargs or {})


def matmul(a, b):
    return torch.zeros(a.shape[0], b.shape[1]).as_subclass(Liar)
