# fails: 3.4
# check: finite
# hint: maximum
# Without the max trick exp(1000.) is inf.
def logsumexp(x):
    return x.exp().sum(-1).log()
