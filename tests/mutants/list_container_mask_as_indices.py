# fails: 6.10
# check: values
# A boolean mask is read as a list of indices.
class ListContainer:
    "A list indexed by int, slice, list of indices or boolean mask."

    def __init__(self, items):
        "Keep items as a list."
        self.items = listify(items)

    def __getitem__(self, idx):
        "One item for an int; a list for a slice, indices or a mask."
        if isinstance(idx, (int, slice)):
            return self.items[idx]
        return [self.items[i] for i in idx]

    def __len__(self):
        "The number of items."
        return len(self.items)

    def __iter__(self):
        "The items in order."
        return iter(self.items)

    def __setitem__(self, i, o):
        "Replace item i."
        self.items[i] = o

    def __delitem__(self, i):
        "Remove item i."
        del self.items[i]

    def __repr__(self):
        "'ListContainer (n items)' and the first ten items."
        res = f"{self.__class__.__name__} ({len(self)} items)\n{self.items[:10]}"
        if len(self) > 10:
            res = res[:-1] + "...]"
        return res
