# fails: 2.3
# check: statistics
# Nudges every weight up by a tenth of the std "to keep the relus alive": the std and
# the bell shape are right, the mean is not 0.
def he_init(n_in, n_out):
    std = math.sqrt(2 / n_in)
    return torch.randn(n_in, n_out) * std + 0.1 * std
