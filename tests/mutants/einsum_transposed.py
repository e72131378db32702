# fails: 1.7
# check: shape
# The output subscripts are swapped: "ji" gives (a @ b).t().
def matmul(a, b):
    return torch.einsum("ik,kj->ji", a, b)
