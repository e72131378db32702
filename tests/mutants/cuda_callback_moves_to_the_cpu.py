# fails: 6.5
# check: moves
# Moves everything with .to(device), to the CPU by default: nothing reaches the GPU.
class CudaCallback(Callback):
    "Moves the model, then every batch, to the GPU."

    def __init__(self, device="cpu"):
        self.device = device

    def begin_fit(self):
        "The model to the GPU."
        self.model.to(self.device)

    def begin_batch(self):
        "xb and yb to the GPU, stored back on the runner."
        self.run.xb, self.run.yb = self.xb.to(self.device), self.yb.to(self.device)
