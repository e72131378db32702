# fails: 5.9
# check: events
# after_batch outside `finally`: a validation batch (which returns early) and a cancelled one never reach it.
class Runner:
    "The training loop; callbacks stop it by raising the Cancel exceptions."

    def __init__(self, cbs=None, cb_funcs=None):
        "Callbacks: a TrainEvalCallback, cbs, and one made by each of cb_funcs."
        self.in_train = False
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
        "As before; CancelBatchException ends the batch early; after_batch comes in any case."
        try:
            self.xb, self.yb = xb, yb
            self("begin_batch")
            self.pred = self.model(self.xb)
            self("after_pred")
            self.loss = self.loss_func(self.pred, self.yb)
            self("after_loss")
            if not self.in_train:
                return
            self.loss.backward()
            self("after_backward")
            self.opt.step()
            self("after_step")
            self.opt.zero_grad()
        except CancelBatchException:
            self("after_cancel_batch")
        self("after_batch")

    def all_batches(self, dl):
        "one_batch for every batch of dl; CancelEpochException ends the pass."
        self.iters = len(dl)
        try:
            for xb, yb in dl:
                self.one_batch(xb, yb)
        except CancelEpochException:
            self("after_cancel_epoch")

    def fit(self, epochs, learn):
        "As before; CancelTrainException ends the fit; after_fit comes in any case."
        self.epochs, self.learn, self.loss = epochs, learn, torch.tensor(0.)
        try:
            for cb in self.cbs:
                cb.set_runner(self)
            self("begin_fit")
            for epoch in range(epochs):
                self.epoch = epoch
                if not self("begin_epoch"):
                    self.all_batches(self.data.train_dl)
                with torch.no_grad():
                    if not self("begin_validate"):
                        self.all_batches(self.data.valid_dl)
                self("after_epoch")
        except CancelTrainException:
            self("after_cancel_train")
        finally:
            self("after_fit")
            self.learn = None

    def __call__(self, cb_name):
        "Call cb_name on every callback, in _order; True if any returned True."
        res = False
        for cb in sorted(self.cbs, key=lambda x: x._order):
            f = getattr(cb, cb_name, None)
            res = bool(f and f()) or res
        return res


