# fails: 3.11
# check: shuffle
# hint: each pass
# One permutation, drawn in __init__, for every epoch.
class Sampler:
    def __init__(self, ds, bs, shuffle=False):
        self.n, self.bs, self.shuffle = len(ds), bs, shuffle
        self.idxs = torch.randperm(self.n) if shuffle else torch.arange(self.n)

    def __iter__(self):
        for i in range(0, self.n, self.bs):
            yield self.idxs[i:i + self.bs]
