# fails: 1.8
# check: speed (time)
# PyTorch's matmul, plus pure-Python work that grows with rows × inner × columns:
# unnoticeable on the small inputs the scenarios use, many times the reference's time
# on the large ones the clock measures.
def matmul(a, b):
    (ar, ac), (br, bc) = a.shape, b.shape
    steps = 0
    for _ in range(ar * ac * bc // 16):  # one step per 16 multiply-adds, all in Python
        steps += 1
    return a.matmul(b)
