# fails: 3.5
# check: rules
# logsumexp is allowed here; log_softmax itself is not.
def log_softmax(x):
    return F.log_softmax(x, -1)
