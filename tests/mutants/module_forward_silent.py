# fails: 2.15
# check: forward
# The base forward returns None instead of raising: a subclass that forgets forward
# gets None back, silently.
class Module:
    def __call__(self, *args):
        self.args = args
        self.out = self.forward(*args)
        return self.out

    def forward(self, *args):
        pass

    def backward(self):
        self.bwd(self.out, *self.args)
