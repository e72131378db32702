# fails: 2.4
# check: rules
# torch's relu reached through an aliased module inside a helper.
import torch.nn.functional as nnf


def _clip(x):
    return nnf.relu(x)


def relu(x):
    "relu, delegated."
    return _clip(x)
