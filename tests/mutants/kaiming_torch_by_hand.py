# fails: 2.6
# check: rules
# Right statistics, but by hand: this task requires init.kaiming_normal_.
def kaiming_torch(n_in, n_out):
    return torch.randn(n_in, n_out) * math.sqrt(2 / n_in)
