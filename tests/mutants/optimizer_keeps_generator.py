# fails: 3.9
# check: zero_grad
# hint: generator
# Keeps model.parameters() as given: the first pass uses the generator up.
class Optimizer:
    def __init__(self, params, lr=0.5):
        self.params, self.lr = params, lr

    def step(self):
        with torch.no_grad():
            for p in self.params:
                p -= p.grad * self.lr

    def zero_grad(self):
        for p in self.params:
            p.grad.zero_()
