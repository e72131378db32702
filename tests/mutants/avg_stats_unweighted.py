# fails: 4.8
# check: values
# hint: weigh
# Every batch counts the same, the short last one too.
class AvgStats:
    "Running, batch-size-weighted means of the loss and metrics."

    def __init__(self, metrics, in_train):
        "Keep the metrics (as a list) and whether these are training statistics."
        self.metrics, self.in_train = listify(metrics), in_train

    def reset(self):
        "Zero the totals and the count."
        self.tot_loss, self.count = 0., 0
        self.tot_mets = [0.] * len(self.metrics)

    @property
    def all_stats(self):
        "The totals: loss first, then each metric."
        return [float(self.tot_loss)] + [float(m) for m in self.tot_mets]

    @property
    def avg_stats(self):
        "The means: each total divided by the count."
        return [o / self.count for o in self.all_stats]

    def __repr__(self):
        if not self.count:
            return ""
        return f"{'train' if self.in_train else 'valid'}: {self.avg_stats}"

    def accumulate(self, run):
        "Add the batch in run (xb, yb, pred, loss), weighted by its size."
        self.tot_loss += run.loss
        self.count += 1
        for i, m in enumerate(self.metrics):
            self.tot_mets[i] += m(run.pred, run.yb)
