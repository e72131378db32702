# fails: 2.4
# check: finite
# Keeps x where its sign, x / |x|, is positive: at exactly 0 that is 0 / 0, NaN.
def relu(x):
    return x * (x / x.abs()).clamp_min(0.)
