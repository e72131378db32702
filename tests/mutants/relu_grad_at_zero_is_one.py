# fails: 2.10
# check: gradients
# hint: exactly 0
# inp >= 0 passes the gradient through where the input is exactly 0.
def relu_grad(inp, out):
    inp.g = (inp >= 0).float() * out.g
