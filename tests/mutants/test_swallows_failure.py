# fails: 0.1
# check: raises
# Prints the mismatch instead of raising, so a failing check goes unnoticed.
def test(a, b, cmp, cname=None):
    if cname is None:
        cname = cmp.__name__
    if not cmp(a, b):
        print(f"{cname}:\n{a}\n{b}")
