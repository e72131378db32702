# fails: 5.1
# check: values
# Fills in the two ends the wrong way round: every schedule runs backwards.
def annealer(f):
    def annealed(start, end):
        return partial(f, end, start)
    return annealed
