# fails: 6.7
# check: shape
# The block's convolution is not padded.
def conv2d(ni, nf, ks=3, stride=2):
    "Conv (padded by ks//2) then ReLU, as one Sequential."
    return nn.Sequential(nn.Conv2d(ni, nf, ks, stride=stride), nn.ReLU())


def get_cnn_layers(data, nfs):
    "A conv2d block per entry of nfs (starting from 1 channel), pool, flatten, linear."
    nfs = [1] + nfs
    return [conv2d(nfs[i], nfs[i + 1], 5 if i == 0 else 3) for i in range(len(nfs) - 1)] + [
        nn.AdaptiveAvgPool2d(1), Lambda(flatten), nn.Linear(nfs[-1], data.c)]


def get_cnn_model(data, nfs):
    "The layers of get_cnn_layers in a Sequential."
    return nn.Sequential(*get_cnn_layers(data, nfs))
