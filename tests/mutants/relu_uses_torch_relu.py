# fails: 2.4
# Calls torch.relu, the very thing the task recreates (clamp_min is required).
def relu(x):
    return torch.relu(x)
