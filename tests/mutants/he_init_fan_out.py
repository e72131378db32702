# fails: 2.3
# check: statistics
# hint: fan
# Scales by sqrt(2 / n_out) instead of sqrt(2 / n_in).
def he_init(n_in, n_out):
    return torch.randn(n_in, n_out) * math.sqrt(2 / n_out)
