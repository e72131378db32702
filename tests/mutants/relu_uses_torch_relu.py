# fails: 2.4
# check: rules
# Calls torch.relu, the very thing the task recreates (clamp_min is required).
def relu(x):
    return torch.relu(x)
