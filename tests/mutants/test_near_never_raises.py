# fails: 1.5
# check: raises
# test_near computes near(a, b) and throws the answer away.
def near(a, b):
    return torch.allclose(a, b, rtol=1e-3, atol=1e-5)


def test_near(a, b):
    near(a, b)
