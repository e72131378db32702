# fails: 4.6
# check: values
# A string is iterable too: 'abc' becomes ['a', 'b', 'c'].
def listify(o):
    if o is None:
        return []
    if isinstance(o, list):
        return o
    if isinstance(o, Iterable):
        return list(o)
    return [o]
