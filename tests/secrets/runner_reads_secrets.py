# attacks: 4.7
# given: TrainEvalCallback
class Runner:
    def __init__(self, cbs=None, cb_funcs=None):
        self.cbs = cbs

    def fit(self, epochs, learn):
        raise Exception(_probe({"TrainEvalCallback": TrainEvalCallback, "probe": type(self.cbs[0]), "learn": learn}))
