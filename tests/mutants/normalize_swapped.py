# fails: 2.1
# check: values
# Mean and std swapped: (x - s) / m.
def normalize(x, m, s):
    return (x - s) / m
