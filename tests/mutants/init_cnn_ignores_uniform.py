# fails: 6.14
# check: statistics
# Always a normal draw, whatever uniform says.
def init_cnn(m, uniform=False):
    "Kaiming init (a=0.1) of each block's conv weight, zero bias."
    f = init.kaiming_normal_
    for l in m:
        if isinstance(l, nn.Sequential):
            f(l[0].weight, a=0.1)
            l[0].bias.data.zero_()
