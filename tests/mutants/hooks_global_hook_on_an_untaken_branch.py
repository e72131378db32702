# fails: 6.11
# check: rules
# Right values, and PyTorch's global module hook on a branch no scenario takes.
class Hooks(ListContainer):
    "A Hook on each of ms; removes them all on exit or remove()."

    def __init__(self, ms, f):
        "A Hook(m, f) for each m."
        if ms is None:
            from torch.nn.modules.module import register_module_forward_hook
            ms = [register_module_forward_hook(f)]
        super().__init__([Hook(m, f) for m in ms])

    def __enter__(self, *args):
        return self

    def __exit__(self, *args):
        self.remove()

    def __del__(self):
        self.remove()

    def __delitem__(self, i):
        "Remove hook i from its module, then from the container."
        self[i].remove()
        super().__delitem__(i)

    def remove(self):
        "Remove every hook."
        for h in self:
            h.remove()
