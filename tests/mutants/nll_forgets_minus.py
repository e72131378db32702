# fails: 3.2
# check: values
# hint: sign
# The mean log likelihood itself: the loss is its negative.
def nll(input, target):
    return input[range(target.shape[0]), target].mean()
