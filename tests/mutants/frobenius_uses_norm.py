# fails: 1.3
# check: rules
# Calls torch.linalg.norm, which the task forbids (elementwise ops only).
def frobenius(a):
    return torch.linalg.norm(a)
