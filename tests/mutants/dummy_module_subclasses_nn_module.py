# fails: 3.8
# check: rules
# nn.Module does the registering that this task is about.
# static: invisible (no table rule: the grader asks the object, isinstance(..., nn.Module))
class DummyModule(nn.Module):
    def __init__(self, n_in, nh, n_out):
        super().__init__()
        self.l1 = nn.Linear(n_in, nh)
        self.l2 = nn.Linear(nh, n_out)
