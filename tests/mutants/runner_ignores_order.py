# fails: 4.7
# check: order
# Callbacks run in the order given, whatever their _order.
class Runner:
    "The training loop, calling its callbacks at every event."

    def __init__(self, cbs=None, cb_funcs=None):
        "Callbacks: a TrainEvalCallback, cbs, and one made by each of cb_funcs."
        cbs = listify(cbs)
        for cbf in listify(cb_funcs):
            cb = cbf()
            setattr(self, cb.name, cb)
            cbs.append(cb)
        self.stop, self.cbs = False, [TrainEvalCallback()] + cbs

    @property
    def opt(self): return self.learn.opt

    @property
    def model(self): return self.learn.model

    @property
    def loss_func(self): return self.learn.loss_func

    @property
    def data(self): return self.learn.data

    def one_batch(self, xb, yb):
        "Prediction, loss and, when training, backward and step, with their events."
        self.xb, self.yb = xb, yb
        if self("begin_batch"):
            return
        self.pred = self.model(self.xb)
        if self("after_pred"):
            return
        self.loss = self.loss_func(self.pred, self.yb)
        if self("after_loss") or not self.in_train:
            return
        self.loss.backward()
        if self("after_backward"):
            return
        self.opt.step()
        if self("after_step"):
            return
        self.opt.zero_grad()

    def all_batches(self, dl):
        "one_batch for every batch of dl, then after_batch."
        self.iters = len(dl)
        for xb, yb in dl:
            if self.stop:
                break
            self.one_batch(xb, yb)
            self("after_batch")
        self.stop = False

    def fit(self, epochs, learn):
        "Train learn for epochs epochs, validating after each."
        self.epochs, self.learn = epochs, learn
        try:
            for cb in self.cbs:
                cb.set_runner(self)
            if self("begin_fit"):
                return
            for epoch in range(epochs):
                self.epoch = epoch
                if not self("begin_epoch"):
                    self.all_batches(self.data.train_dl)
                with torch.no_grad():
                    if not self("begin_validate"):
                        self.all_batches(self.data.valid_dl)
                if self("after_epoch"):
                    break
        finally:
            self("after_fit")
            self.learn = None

    def __call__(self, cb_name):
        "Call cb_name on every callback in _order; True if one of them returned True."
        for cb in self.cbs:
            f = getattr(cb, cb_name, None)
            if f and f():
                return True
        return False
