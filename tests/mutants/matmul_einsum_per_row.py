# fails: 1.7
# check: speed (work)
# Correct and uses einsum, but one call per row: the work grows with the rows.
def matmul(a, b):
    "einsum, one row at a time."
    return torch.stack([torch.einsum("k,kj->j", row, b) for row in a])
