# fails: 2.5
# Forgets the bias.
def lin(x, w, b):
    return x @ w
