# fails: 1.3
# The sum of squares, without the square root.
def frobenius(a):
    return (a * a).sum()
