# fails: 1.5
# check: values
# allclose with its default tolerances (rtol 1e-5, atol 1e-8): too strict for float sums.
def near(a, b):
    return torch.allclose(a, b)


def test_near(a, b):
    test(a, b, near)
