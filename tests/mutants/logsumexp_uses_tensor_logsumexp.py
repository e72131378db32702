# fails: 3.4
# check: rules
# The tensor method that the task recreates: right and stable, the forbidden way.
def logsumexp(x):
    return x.logsumexp(-1)
