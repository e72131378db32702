# fails: 2.3
# check: statistics
# Reseeds the generator on every call for "reproducible" weights: right mean, std and
# shape, but every layer gets the very same matrix.
def he_init(n_in, n_out):
    torch.manual_seed(42)
    return torch.randn(n_in, n_out) * math.sqrt(2 / n_in)
