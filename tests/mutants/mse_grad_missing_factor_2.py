# fails: 2.9
# check: gradients
# hint: 2x
# Forgets the 2 of d(x^2)/dx.
def mse_grad(inp, targ):
    inp.g = (inp.squeeze(-1) - targ).unsqueeze(-1) / inp.shape[0]
