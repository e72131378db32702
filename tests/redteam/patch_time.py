# attacks: 2.17
# damage: stops every clock in the child (time.time, perf_counter, monotonic, process_time)
#   and then runs for 30 s, hoping to look fast and to dodge the timeout
# needs: boundary
import time


def _frozen(*args):
    return 0.0


class Lin(Module):
    def __init__(self, w, b):
        self.w, self.b = w, b

    def forward(self, inp):
        real, start = time.monotonic, time.monotonic()
        for name in ("time", "perf_counter", "monotonic", "process_time", "thread_time"):
            setattr(time, name, _frozen)
            setattr(time, name + "_ns", lambda: 0)
        while real() - start < 30:
            pass
        return inp @ self.w + self.b

    def bwd(self, out, inp):
        inp.g = out.g @ self.w.t()
        self.w.g = inp.t() @ out.g
        self.b.g = out.g.sum(0)
