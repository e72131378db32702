# fails: 2.2
# check: raises
# Compares a itself with tol, so any negative number counts as near zero.
def test_near_zero(a, tol=1e-3):
    assert a < tol, f"Near zero: {a}"
