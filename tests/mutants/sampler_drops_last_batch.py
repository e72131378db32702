# fails: 3.11
# check: batches
# hint: last
# Stops before the short last batch.
class Sampler:
    def __init__(self, ds, bs, shuffle=False):
        self.n, self.bs, self.shuffle = len(ds), bs, shuffle

    def __iter__(self):
        idxs = torch.randperm(self.n) if self.shuffle else torch.arange(self.n)
        for i in range(0, self.n - self.bs + 1, self.bs):
            yield idxs[i:i + self.bs]
