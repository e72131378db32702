# fails: 3.1
# check: rules
# PyTorch's own log_softmax: the right values, the forbidden way.
def log_softmax(x):
    return F.log_softmax(x, -1)
