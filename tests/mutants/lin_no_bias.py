# fails: 2.5
# check: values
# Forgets the bias.
def lin(x, w, b):
    return x @ w
