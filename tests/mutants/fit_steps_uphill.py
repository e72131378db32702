# fails: 3.7
# check: trains
# hint: uphill
# Adds the gradient instead of subtracting it.
def fit(epochs, model, loss_func, lr, x, y, bs):
    for epoch in range(epochs):
        for i in range(0, x.shape[0], bs):
            loss = loss_func(model(x[i:i + bs]), y[i:i + bs])
            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p += p.grad * lr
                model.zero_grad()
