# attacks: 3.14
# given: accuracy
def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
    raise Exception(_probe({"accuracy": accuracy, "model": type(model), "opt": type(opt), "loader": type(train_dl)}))
