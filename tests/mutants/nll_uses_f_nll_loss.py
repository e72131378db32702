# fails: 3.2
# check: rules
# PyTorch's own nll_loss: the right values, the forbidden way.
def nll(input, target):
    return F.nll_loss(input, target)
