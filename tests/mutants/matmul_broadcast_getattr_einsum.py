# fails: 1.6
# check: rules
# static: invisible (a computed name: only the traced calls show it)
# Right values, computed the forbidden way: einsum reached through getattr and a computed name.
def matmul(a, b):
    "Matrix product, hiding the call."
    return getattr(torch, "ein" + "sum")("ik,kj->ij", a, b)
