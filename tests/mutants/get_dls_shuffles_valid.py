# fails: 3.15
# check: valid
# Both loaders shuffled.
def get_dls(train_ds, valid_ds, bs):
    return (DataLoader(train_ds, Sampler(train_ds, bs, shuffle=True)),
            DataLoader(valid_ds, Sampler(valid_ds, bs * 2, shuffle=True)))
