# fails: 1.2
# check: inner dimensions
# hint: inner dimensions
# Three loops, right values, but no check that a's columns match b's rows.
def matmul(a, b):
    ar, ac = a.shape
    br, bc = b.shape
    c = torch.zeros(ar, bc)
    for i in range(ar):
        for j in range(bc):
            for k in range(ac):
                c[i, j] += a[i, k] * b[k, j]
    return c
