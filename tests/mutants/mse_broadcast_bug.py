# fails: 2.8
# check: values
# hint: broadcast
# output (n, 1) minus targ (n,) broadcasts to (n, n).
def mse(output, targ):
    return (output - targ).pow(2).mean()
