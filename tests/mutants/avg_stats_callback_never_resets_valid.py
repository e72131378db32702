# fails: 4.9
# check: values
# The validation totals run on over every epoch.
class AvgStatsCallback(Callback):
    "Training and validation statistics of every epoch."

    def __init__(self, metrics):
        "One AvgStats for training, one for validation."
        self.train_stats, self.valid_stats = AvgStats(metrics, True), AvgStats(metrics, False)
        self.valid_stats.reset()

    def begin_epoch(self):
        "Reset both."
        self.train_stats.reset()

    def after_loss(self):
        "Add the batch to the statistics of the current phase."
        stats = self.train_stats if self.in_train else self.valid_stats
        with torch.no_grad():
            stats.accumulate(self.run)

    def after_epoch(self):
        "Print both."
        print(self.train_stats)
        print(self.valid_stats)
