# fails: 2.11
# check: gradients
# hint: sum over the batch
# b.g averages out.g over the batch instead of summing it.
def lin_grad(inp, out, w, b):
    inp.g = out.g @ w.t()
    w.g = (inp.unsqueeze(-1) * out.g.unsqueeze(1)).sum(0)
    b.g = out.g.mean(0)
