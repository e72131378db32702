# fails: 6.9
# check: detached
# The statistics keep outp's autograd graph.
def append_stats(hook, mod, inp, outp):
    "Append outp's mean and std to hook.stats, a pair of lists made at the first call."
    if not hasattr(hook, "stats"):
        hook.stats = ([], [])
    means, stds = hook.stats
    means.append(outp.mean())
    stds.append(outp.std())
