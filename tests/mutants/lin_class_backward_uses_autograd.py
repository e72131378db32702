# fails: 2.13
# check: rules
# Relu and Mse by hand, but Lin's backward asks autograd.
class Relu:
    def __call__(self, inp):
        self.inp = inp
        self.out = inp.clamp_min(0.)
        return self.out

    def backward(self):
        self.inp.g = (self.inp > 0).float() * self.out.g


class Lin:
    def __init__(self, w, b):
        self.w, self.b = w, b

    def __call__(self, inp):
        self.inp = inp
        self.out = inp @ self.w + self.b
        return self.out

    def backward(self):
        inp, w, b = (t.clone().requires_grad_() for t in (self.inp, self.w, self.b))
        (inp @ w + b).backward(self.out.g)
        self.inp.g, self.w.g, self.b.g = inp.grad, w.grad, b.grad


class Mse:
    def __call__(self, inp, targ):
        self.inp, self.targ = inp, targ
        self.out = (inp.squeeze(-1) - targ).pow(2).mean()
        return self.out

    def backward(self):
        self.inp.g = 2. * (self.inp.squeeze(-1) - self.targ).unsqueeze(-1) / self.targ.shape[0]
