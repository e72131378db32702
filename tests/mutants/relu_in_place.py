# fails: 2.4
# check: side effects
# hint: itself
# clamp_min_ (trailing underscore) clips x in place.
def relu(x):
    return x.clamp_min_(0.)
