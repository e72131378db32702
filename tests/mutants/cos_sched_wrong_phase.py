# fails: 5.3
# check: values
# hint: half a cosine
# cos(pi * pos) where the course has cos(pi * (1 - pos)): it starts at end.
@annealer
def sched_cos(start, end, pos):
    return start + (1 + math.cos(math.pi * pos)) * (end - start) / 2
