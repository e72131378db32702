# fails: 4.3
# check: values
# Only lower-to-upper boundaries: 'HTTPServer' stays one word.
def camel2snake(name):
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
