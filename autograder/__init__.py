"""Exercise kit and autograder for Deep Learning from the Foundations."""

__version__ = "0.1.0"
