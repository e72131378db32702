# fails: 2.15
# check: stores
# Keeps the arguments as self.inputs, not self.args: its own backward works, but a
# subclass written the course's way (reading self.args) does not find them.
class Module:
    def __call__(self, *args):
        self.inputs = args
        self.out = self.forward(*args)
        return self.out

    def forward(self):
        raise Exception("not implemented")

    def backward(self):
        self.bwd(self.out, *self.inputs)
