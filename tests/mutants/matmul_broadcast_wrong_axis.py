# fails: 1.6
# check: runs
# Broadcasts row i against b, then sums over the wrong axis (j instead of k).
def matmul(a, b):
    ar, ac = a.shape
    br, bc = b.shape
    assert ac == br
    c = torch.zeros(ar, bc)
    for i in range(ar):
        c[i] = (a[i].unsqueeze(-1) * b).sum(dim=1)
    return c
