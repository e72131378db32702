# fails: 2.4
# check: side effects
# Returns x itself when nothing needs clipping: the caller's tensor, not a new one.
def relu(x):
    if (x >= 0).all():
        return x
    return x.clamp_min(0.)
