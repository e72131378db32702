"""The notebook face: ``%load_ext autograder``, then ``%check`` in any cell.

The kernel, where the student's code runs, only finds the notebook, writes its current
cells to a private folder and sends the request. A grader process beside the kernel
(``server``, started on the first ``%check`` and kept warm) grades it with the same engine,
child and sandbox as ``autograder check``, and only the result comes back.

- ``magic``: the ``%check`` line magic and what it shows.
- ``locate``: the notebook file behind the kernel, and the cells the kernel ran.
- ``snapshot``: the notebook as it stands, written where the grader reads it.
- ``service``: the kernel's side of the pipe to the grader process.
- ``server``: the grader process; ``selection`` turns ``%check`` words into task ids.
- ``display``: the result as an HTML table in Jupyter, plain lines elsewhere.

Nothing here imports torch in the kernel.
"""
