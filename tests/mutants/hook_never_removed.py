# fails: 6.8
# check: removes
# remove() forgets to take the hook off.
def children(m):
    "The direct sub-modules of m, as a list."
    return list(m.children())


class Hook:
    "A forward hook on m calling f(hook, module, input, output)."

    def __init__(self, m, f):
        "Register partial(f, self) as a forward hook of m."
        self.hook = m.register_forward_hook(partial(f, self))

    def remove(self):
        "Take the hook off."
        pass

    def __del__(self):
        self.remove()
