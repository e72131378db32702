# fails: 3.3
# check: rules
# x minus the log of the row's sum, but the log-sum from PyTorch's logsumexp (3.4 builds it).
def log_softmax(x):
    return x - torch.logsumexp(x, -1, keepdim=True)
