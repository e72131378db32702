# fails: 2.5
# check: values
# Computes in float16 "to save memory" and casts back: the right dtype and shape, but
# only about three significant digits, far outside float32's tolerance.
def lin(x, w, b):
    return (x.half() @ w.half() + b.half()).float()
