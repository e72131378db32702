# fails: 3.14
# check: modes
# hint: no_grad
# Validation records gradients it never uses.
def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss_func(model(xb), yb).backward()
            opt.step()
            opt.zero_grad()
        model.eval()
        tot_loss, tot_acc, count = 0., 0., 0
        for xb, yb in valid_dl:
            pred = model(xb)
            tot_loss += float(loss_func(pred, yb)) * len(yb)
            tot_acc += float(accuracy(pred, yb)) * len(yb)
            count += len(yb)
    return tot_loss / count, tot_acc / count
