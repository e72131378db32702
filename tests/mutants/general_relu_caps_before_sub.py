# fails: 6.12
# check: values
# hint: subtract sub first
# Capped at maxv before the shift: the top lands at maxv - sub.
class GeneralRelu(nn.Module):
    "Leaky (or plain) ReLU, then minus sub, then capped at maxv."

    def __init__(self, leak=None, sub=None, maxv=None):
        "Keep leak, sub and maxv."
        super().__init__()
        self.leak, self.sub, self.maxv = leak, sub, maxv

    def forward(self, x):
        "leaky_relu(x, leak) (or relu), minus sub, clamped at maxv."
        x = F.leaky_relu(x, self.leak) if self.leak is not None else F.relu(x)
        if self.maxv is not None:
            x = x.clamp_max(self.maxv)
        if self.sub is not None:
            x = x - self.sub
        return x
