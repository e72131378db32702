# fails: 6.11
# check: removes
# del hooks[i] forgets the hook but leaves it on its module.
class Hooks(ListContainer):
    "A Hook on each of ms; removes them all on exit or remove()."

    def __init__(self, ms, f):
        "A Hook(m, f) for each m."
        super().__init__([Hook(m, f) for m in ms])

    def __enter__(self, *args):
        return self

    def __exit__(self, *args):
        self.remove()

    def __del__(self):
        self.remove()

    def __delitem__(self, i):
        "Remove hook i from its module, then from the container."
        super().__delitem__(i)

    def remove(self):
        "Remove every hook."
        for h in self:
            h.remove()
