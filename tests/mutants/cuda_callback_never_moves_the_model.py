# fails: 6.5
# check: moves
# Only the batches go to the GPU.
class CudaCallback(Callback):
    "Moves the model, then every batch, to the GPU."

    def begin_fit(self):
        "The model to the GPU."
        pass

    def begin_batch(self):
        "xb and yb to the GPU, stored back on the runner."
        self.run.xb, self.run.yb = self.xb.cuda(), self.yb.cuda()
