# fails: 0.2
# check: built on test
# Right behaviour, but it repeats the assert instead of calling test(a, b, operator.eq).
def test_eq(a, b):
    assert a == b, f"==:\n{a}\n{b}"
