# fails: 1.7
# check: rules
# The einsum task answered with `@`: einsum is required, `@` is forbidden.
def matmul(a, b):
    return a @ b
