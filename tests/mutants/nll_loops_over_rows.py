# fails: 3.2
# check: speed
# hint: indexing
# Right values, one Python step per row.
def nll(input, target):
    total = 0.
    for i in range(target.shape[0]):
        total = total + input[i, target[i]]
    return -total / target.shape[0]
