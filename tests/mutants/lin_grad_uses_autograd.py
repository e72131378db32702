# fails: 2.11
# check: rules
# Right gradients, from autograd instead of by hand.
def lin_grad(inp, out, w, b):
    "Gradients the forbidden way."
    leaves = [t.clone().requires_grad_() for t in (inp, w, b)]
    (leaves[0] @ leaves[1] + leaves[2]).backward(out.g)
    inp.g, w.g, b.g = (t.grad for t in leaves)
