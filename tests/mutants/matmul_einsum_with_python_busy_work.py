# fails: 1.7
# check: speed (time)
# One correct einsum, the reference's torch calls and memory, plus a fixed stretch of
# pure-Python work on every call: many times slower at every size, and only the clock
# against the reference can tell.
def matmul(a, b):
    steps = 0
    for _ in range(3_000_000):  # no torch call in here: the call count stays at one
        steps += 1
    return torch.einsum("ik,kj->ij", a, b)
