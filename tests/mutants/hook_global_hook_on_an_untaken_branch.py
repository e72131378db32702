# fails: 6.8
# check: rules
# Right values, and PyTorch's global module hook on a branch no scenario takes.
def children(m):
    "The direct sub-modules of m, as a list."
    return list(m.children())


class Hook:
    "A forward hook on m calling f(hook, module, input, output)."

    def __init__(self, m, f):
        "Register partial(f, self) as a forward hook of m."
        if m is None:
            from torch.nn.modules.module import register_module_forward_hook
            self.hook = register_module_forward_hook(partial(f, self))
        else:
            self.hook = m.register_forward_hook(partial(f, self))

    def remove(self):
        "Take the hook off."
        self.hook.remove()

    def __del__(self):
        self.remove()
