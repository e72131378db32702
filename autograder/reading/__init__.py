"""Reading a submission, without running it: the trusted side's loading and finding.

Imports go one way: ``submission`` (files read as one stream of cells) uses ``locate``
(which definition is each task), which uses ``finder`` (ladders of versions told apart
by their code); all three use ``cells`` (which statements run, which names a cell
defines). ``importer`` is what the child may import, and ``source_names`` what the
rules check reads of a name. Nothing here imports torch or runs student code.
"""
