# fails: 5.10
# check: stops
# Compares with the first loss only: once the loss has fallen, an explosion goes unnoticed.
class LR_Find(Callback):
    _order = 1

    def __init__(self, max_iter=100, min_lr=1e-6, max_lr=10):
        self.max_iter, self.min_lr, self.max_lr = max_iter, min_lr, max_lr
        self.best_loss = 1e9

    def begin_batch(self):
        if not self.in_train:
            return
        lr = self.min_lr * (self.max_lr / self.min_lr) ** (self.n_iter / self.max_iter)
        for pg in self.opt.param_groups:
            pg["lr"] = lr

    def after_step(self):
        if self.n_iter >= self.max_iter or self.loss > self.best_loss * 10:
            raise CancelTrainException()
        if self.best_loss == 1e9:
            self.best_loss = self.loss
