class RunError(Exception):
    """A run cannot go on; the message is shown to the user as the run's error."""
