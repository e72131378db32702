# fails: 6.12
# check: values
# hint: leak
# The leak is kept but never used: a plain ReLU.
class GeneralRelu(nn.Module):
    "Leaky (or plain) ReLU, then minus sub, then capped at maxv."

    def __init__(self, leak=None, sub=None, maxv=None):
        "Keep leak, sub and maxv."
        super().__init__()
        self.leak, self.sub, self.maxv = leak, sub, maxv

    def forward(self, x):
        "leaky_relu(x, leak) (or relu), minus sub, clamped at maxv."
        x = F.relu(x)
        if self.sub is not None:
            x = x - self.sub
        if self.maxv is not None:
            x = x.clamp_max(self.maxv)
        return x
