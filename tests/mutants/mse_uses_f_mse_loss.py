# fails: 2.8
# check: rules
# Calls F.mse_loss, which the task forbids.
import torch.nn.functional as F


def mse(output, targ):
    return F.mse_loss(output.squeeze(-1), targ)
