# fails: 6.14
# check: statistics
# hint: fan-out
# Scaled by the fan-out, not the fan-in.
def init_cnn(m, uniform=False):
    "Kaiming init (a=0.1) of each block's conv weight, zero bias."
    f = init.kaiming_uniform_ if uniform else init.kaiming_normal_
    for l in m:
        if isinstance(l, nn.Sequential):
            f(l[0].weight, a=0.1, mode="fan_out")
            l[0].bias.data.zero_()
