# fails: 1.6
# check: speed (work)
# The broadcasting task answered with the two-loop version: O(rows*cols) Python work.
def matmul(a, b):
    ar, ac = a.shape
    br, bc = b.shape
    assert ac == br
    c = torch.zeros(ar, bc)
    for i in range(ar):
        for j in range(bc):
            c[i, j] = (a[i, :] * b[:, j]).sum()
    return c
