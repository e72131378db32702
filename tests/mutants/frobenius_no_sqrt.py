# fails: 1.3
# check: values
# The sum of squares, without the square root.
def frobenius(a):
    return (a * a).sum()
