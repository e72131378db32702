# fails: 3.5
# check: finite
# hint: maximum
# The log of the sum of exponentials, still without the max trick.
def log_softmax(x):
    return x - x.exp().sum(-1, keepdim=True).log()
