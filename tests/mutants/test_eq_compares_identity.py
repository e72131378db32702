# fails: 0.2
# check: runs
# Built on test, but with `is` instead of `==`: two equal lists are not the same object.
def test_eq(a, b):
    test(a, b, operator.is_, "==")
