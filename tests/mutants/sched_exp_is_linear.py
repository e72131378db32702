# fails: 5.5
# check: values
# Right at both ends, a straight line in between.
@annealer
def sched_exp(start, end, pos):
    return start + pos * (end - start)
