# fails: 5.2
# check: values
# Starts at end and goes to start.
@annealer
def sched_lin(start, end, pos):
    return end + pos * (start - end)
