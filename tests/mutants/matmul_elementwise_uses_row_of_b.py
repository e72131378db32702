# fails: 1.4
# check: runs
# Multiplies row i of a by row j of b instead of column j.
def matmul(a, b):
    ar, ac = a.shape
    br, bc = b.shape
    assert ac == br
    c = torch.zeros(ar, bc)
    for i in range(ar):
        for j in range(bc):
            c[i, j] = (a[i, :] * b[j, :]).sum()
    return c
