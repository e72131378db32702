# fails: 2.17
# check: rules
# The weight gradient as one call, but autograd's call.
class Lin(Module):
    def __init__(self, w, b):
        self.w, self.b = w, b

    def forward(self, inp):
        return inp @ self.w + self.b

    def bwd(self, out, inp):
        inp.g = out.g @ self.w.t()
        w = self.w.clone().requires_grad_()
        (self.w.g,) = torch.autograd.grad(inp @ w, [w], out.g)
        self.b.g = out.g.sum(0)
