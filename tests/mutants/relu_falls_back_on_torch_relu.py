# fails: 2.4
# check: rules
# traced: invisible (clamp_min as asked for the float inputs every scenario uses; torch.relu
# on a branch for other dtypes that none reaches: only the source shows the forbidden call)
def relu(x):
    if x.is_floating_point():
        return x.clamp_min(0.)
    return torch.relu(x)
