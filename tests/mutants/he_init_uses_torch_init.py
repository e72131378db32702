# fails: 2.3
# check: rules
# Calls torch.nn.init, which this task forbids (that is task 2.6).
def he_init(n_in, n_out):
    w = torch.zeros(n_in, n_out)
    init.kaiming_normal_(w, mode="fan_out")
    return w
