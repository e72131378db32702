# fails: 6.5
# check: moves
# The targets stay behind on the CPU.
class CudaCallback(Callback):
    "Moves the model, then every batch, to the GPU."

    def begin_fit(self):
        "The model to the GPU."
        self.model.cuda()

    def begin_batch(self):
        "xb and yb to the GPU, stored back on the runner."
        self.run.xb = self.xb.cuda()
