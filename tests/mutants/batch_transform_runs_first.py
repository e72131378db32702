# fails: 6.6
# check: _order
# Runs before the callbacks that move the batch.
class BatchTransformXCallback(Callback):
    "Applies tfm to every batch's inputs."
    _order = 0

    def __init__(self, tfm):
        "Keep tfm."
        self.tfm = tfm

    def begin_batch(self):
        "run.xb becomes tfm(xb)."
        self.run.xb = self.tfm(self.xb)


def view_tfm(*size):
    "A function that views a batch as (-1, *size)."
    def _inner(x):
        return x.view(*((-1,) + size))
    return _inner
