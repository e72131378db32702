# fails: 1.1
# check: type
# hint: torch.tensor
# Returns the numpy arrays from the pickle without turning them into tensors.
def get_data(path):
    with gzip.open(path, "rb") as f:
        ((x_train, y_train), (x_valid, y_valid), _) = pickle.load(f, encoding="latin-1")
    return x_train, y_train, x_valid, y_valid
