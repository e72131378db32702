# fails: 2.7
# check: values
# lin -> lin: the ReLU between the layers is missing.
def model(xb, w1, b1, w2, b2):
    l1 = lin(xb, w1, b1)
    return lin(l1, w2, b2)
