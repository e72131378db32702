# fails: 1.8
# check: speed (work)
# Correct, calls PyTorch, but row by row.
def matmul(a, b):
    "a @ b, one row at a time."
    return torch.cat([row[None] @ b for row in a])
