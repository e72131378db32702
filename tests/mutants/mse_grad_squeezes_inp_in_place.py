# fails: 2.9
# check: side effects
# squeeze_ (trailing underscore) reshapes the caller's inp to (n,) in place; the
# gradient itself is right.
def mse_grad(inp, targ):
    inp.g = 2. * (inp.squeeze_(-1) - targ).unsqueeze(-1) / inp.shape[0]
