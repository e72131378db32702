# fails: 6.1
# check: values
# hint: own mean
# valid is normalized with its own mean and std.
def normalize_to(train, valid):
    "train and valid normalized with train's mean and std."
    m, s = train.mean(), train.std()
    return normalize(train, m, s), normalize(valid, valid.mean(), valid.std())
