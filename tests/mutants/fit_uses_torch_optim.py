# fails: 3.7
# check: rules
# torch.optim.SGD does the step: trains well, the forbidden way.
from torch import optim


def fit(epochs, model, loss_func, lr, x, y, bs):
    opt = optim.SGD(model.parameters(), lr=lr)
    for epoch in range(epochs):
        for i in range(0, x.shape[0], bs):
            loss_func(model(x[i:i + bs]), y[i:i + bs]).backward()
            opt.step()
            opt.zero_grad()
