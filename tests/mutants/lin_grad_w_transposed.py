# fails: 2.11
# check: gradients
# hint: transpose
# w.g = out.g.t() @ inp: (n_out, n_in), the transpose of w's shape.
def lin_grad(inp, out, w, b):
    inp.g = out.g @ w.t()
    w.g = out.g.t() @ inp
    b.g = out.g.sum(0)
