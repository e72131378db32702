# fails: 4.4
# check: name
# 'TrainEvalCallback' becomes 'train_eval_callback', not 'train_eval'.
class Callback:
    _order = 0

    def set_runner(self, run):
        self.run = run

    def __getattr__(self, k):
        return getattr(self.run, k)

    @property
    def name(self):
        return camel2snake(self.__class__.__name__)
