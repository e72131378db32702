# fails: 2.9
# check: gradients
# hint: unsqueeze
# Leaves the gradient as (n,): it must have inp's shape (n, 1).
def mse_grad(inp, targ):
    inp.g = 2. * (inp.squeeze(-1) - targ) / inp.shape[0]
