# fails: 5.6
# check: values
# At a join the earlier phase still runs (at its own pos 1), not the later one from its pos 0.
def combine_scheds(pcts, scheds):
    assert abs(sum(pcts) - 1) < 1e-6
    edges = [0.]
    for p in pcts:
        edges.append(edges[-1] + p)

    def _inner(pos):
        idx = max([0] + [i for i in range(len(scheds)) if pos > edges[i]])
        return scheds[idx]((pos - edges[idx]) / (edges[idx + 1] - edges[idx]))
    return _inner
