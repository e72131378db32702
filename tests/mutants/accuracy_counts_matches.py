# fails: 3.6
# check: values
# hint: fraction
# The number of right rows instead of their fraction.
def accuracy(out, yb):
    return (out.argmax(dim=1) == yb).float().sum()
