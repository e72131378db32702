# fails: 3.13
# check: rules
# PyTorch's DataLoader does the work.
import torch.utils.data


class DataLoader:
    def __init__(self, ds, sampler, collate_fn=collate):
        self.loader = torch.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=collate_fn)

    def __iter__(self):
        yield from self.loader
