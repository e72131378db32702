# fails: 6.2
# check: shape
# Everything in one row, the batch too.
class Lambda(nn.Module):
    "A module whose forward is func."

    def __init__(self, func):
        "Keep func."
        super().__init__()
        self.func = func

    def forward(self, x):
        "func(x)."
        return self.func(x)


def flatten(x):
    "A batch of anything as a batch of rows: (bs, ...) -> (bs, n)."
    return x.view(-1)
