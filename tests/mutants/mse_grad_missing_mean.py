# fails: 2.9
# check: gradients
# hint: n times
# Forgets to divide by n: the gradient of a sum, not of a mean.
def mse_grad(inp, targ):
    inp.g = 2. * (inp.squeeze(-1) - targ).unsqueeze(-1)
