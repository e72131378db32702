# fails: 5.6
# check: refuses
# Right wherever the fractions add up to 1, and silent where they do not.
def combine_scheds(pcts, scheds):
    edges = [0.]
    for p in pcts:
        edges.append(edges[-1] + p)

    def _inner(pos):
        idx = max(i for i in range(len(scheds)) if pos >= edges[i])
        return scheds[idx]((pos - edges[idx]) / (edges[idx + 1] - edges[idx]))
    return _inner
