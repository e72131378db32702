# attacks: 4.9
# given: Runner, AvgStats
class AvgStatsCallback(Callback):
    def __init__(self, metrics):
        self.metrics = metrics

    def begin_fit(self):
        raise Exception(_probe({"Runner": type(self.run), "AvgStats": AvgStats, "metric": self.metrics[0]}))
