# fails: 0.1
# check: message
# The AssertionError names the comparison but leaves out both values.
def test(a, b, cmp, cname=None):
    if cname is None:
        cname = cmp.__name__
    assert cmp(a, b), f"{cname} failed"
