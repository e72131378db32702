# fails: 2.15
# check: rules
# traced: invisible (a layer without bwd would get its gradients from autograd; every
# layer the scenarios use has one, so only the source shows the forbidden call)
class Module:
    def __call__(self, *args):
        self.args = args
        self.out = self.forward(*args)
        return self.out

    def forward(self):
        raise Exception("not implemented")

    def backward(self):
        if hasattr(self, "bwd"):
            self.bwd(self.out, *self.args)
            return
        leaves = [a.clone().requires_grad_() for a in self.args]
        for arg, grad in zip(self.args, torch.autograd.grad(self.forward(*leaves), leaves, self.out.g)):
            arg.g = grad
