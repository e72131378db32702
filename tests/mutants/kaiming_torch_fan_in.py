# fails: 2.6
# check: statistics
# hint: fan
# mode="fan_in" on our (n_in, n_out) layout: PyTorch reads dim 1 (n_out) as the fan-in.
def kaiming_torch(n_in, n_out):
    w = torch.zeros(n_in, n_out)
    init.kaiming_normal_(w, mode="fan_in")
    return w
