# fails: 2.9
# check: rules
# Lets autograd do the work (backward, .grad): forbidden in 2.9-2.17.
def mse_grad(inp, targ):
    leaf = inp.detach().clone().requires_grad_()
    (leaf.squeeze(-1) - targ).pow(2).mean().backward()
    inp.g = leaf.grad
