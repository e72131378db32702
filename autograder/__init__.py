"""Exercise kit and autograder for Deep Learning from the Foundations."""

__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:
    """``%load_ext autograder`` adds ``%check`` to a notebook (see ``autograder.notebook``)."""
    from autograder.notebook.magic import load

    load(ipython)
