# fails: 2.15
# check: runs
# __call__ does not keep its arguments, and backward calls bwd(out) without them.
class Module:
    def __call__(self, *args):
        self.out = self.forward(*args)
        return self.out

    def forward(self):
        raise Exception("not implemented")

    def backward(self):
        self.bwd(self.out)
