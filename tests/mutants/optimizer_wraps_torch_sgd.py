# fails: 3.9
# check: rules
# One step equals torch.optim.SGD's because it is torch.optim.SGD.
class Optimizer:
    def __init__(self, params, lr=0.5):
        self.params, self.lr = list(params), lr
        self.sgd = torch.optim.SGD(self.params, lr=lr)

    def step(self):
        self.sgd.step()

    def zero_grad(self):
        for p in self.params:
            p.grad.zero_()
