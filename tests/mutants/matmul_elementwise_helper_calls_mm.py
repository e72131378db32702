# fails: 1.4
# check: rules
# The real matmul, hidden in a helper function defined in the same cell.
def _product(x, y):
    return x.mm(y)


def matmul(a, b):
    "Matrix product through a helper."
    ar, ac = a.shape
    br, bc = b.shape
    assert ac == br
    return _product(a, b)
