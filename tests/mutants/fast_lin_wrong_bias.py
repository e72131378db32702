# fails: 2.17
# check: gradients
# hint: sum over the batch
# Fast weight gradient, but b.g averages out.g over the batch instead of summing it.
class Lin(Module):
    def __init__(self, w, b):
        self.w, self.b = w, b

    def forward(self, inp):
        return inp @ self.w + self.b

    def bwd(self, out, inp):
        inp.g = out.g @ self.w.t()
        self.w.g = inp.t() @ out.g
        self.b.g = out.g.mean(0)
