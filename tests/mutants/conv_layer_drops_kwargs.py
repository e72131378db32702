# fails: 6.13
# check: layers
# get_cnn_layers does not pass its keyword arguments on to layer.
def conv_layer(ni, nf, ks=3, stride=2, **kwargs):
    "Conv (padded by ks//2) then GeneralRelu(**kwargs), as one Sequential."
    return nn.Sequential(nn.Conv2d(ni, nf, ks, padding=ks // 2, stride=stride), GeneralRelu(**kwargs))


def get_cnn_layers(data, nfs, layer, **kwargs):
    "As before, with layer(ni, nf, ks, **kwargs) for each block."
    nfs = [1] + nfs
    return [layer(nfs[i], nfs[i + 1], 5 if i == 0 else 3) for i in range(len(nfs) - 1)] + [
        nn.AdaptiveAvgPool2d(1), Lambda(flatten), nn.Linear(nfs[-1], data.c)]


def get_cnn_model(data, nfs, layer, **kwargs):
    "The layers of get_cnn_layers in a Sequential."
    return nn.Sequential(*get_cnn_layers(data, nfs, layer, **kwargs))
