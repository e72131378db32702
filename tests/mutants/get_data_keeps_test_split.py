# fails: 1.1
# check: returns
# Returns the test split too: six tensors instead of four.
def get_data(path):
    with gzip.open(path, "rb") as f:
        ((x_train, y_train), (x_valid, y_valid), (x_test, y_test)) = pickle.load(f, encoding="latin-1")
    return tuple(torch.tensor(a) for a in (x_train, y_train, x_valid, y_valid, x_test, y_test))
