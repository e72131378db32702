"""Writers, one module per format, each a small function of the results.

``kit_json`` (the kit's own JSON), ``gradebook`` (CSV), ``gradescope`` (``results.json``),
``junit`` (XML), ``feedback`` (Markdown and HTML for the student), ``class_report`` (the
instructor's HTML page, with ``plots`` and the ``similarity`` section; ``similarity.csv``).
``files`` writes whole files or nothing.
"""
