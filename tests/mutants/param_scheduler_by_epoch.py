# fails: 5.8
# check: values
# Schedules by whole epochs (epoch / epochs): the value only changes once an epoch.
class ParamScheduler(Callback):
    _order = 1

    def __init__(self, pname, sched_funcs):
        self.pname, self.sched_funcs = pname, sched_funcs

    def begin_fit(self):
        if not isinstance(self.sched_funcs, (list, tuple)):
            self.sched_funcs = [self.sched_funcs] * len(self.opt.param_groups)

    def set_param(self):
        for pg, f in zip(self.opt.param_groups, self.sched_funcs):
            pg[self.pname] = f(self.epoch / self.epochs)

    def begin_batch(self):
        if self.in_train:
            self.set_param()
