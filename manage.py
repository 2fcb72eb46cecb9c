#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import gc
import os
import sys


def main():
    """Run administrative tasks."""
    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'etlsite.settings')
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Are you sure it's installed and "
            "available on your PYTHONPATH environment variable? Did you "
            "forget to activate a virtual environment?"
        ) from exc
    try:
        execute_from_command_line(sys.argv)
    finally:
        # The command is done. At exit the interpreter would pass its garbage collector over every object
        # left, module by module (0.15 s after Django's set-up alone, 0.3 s after a large run), only to free
        # memory the process is about to hand back whole. Frozen, they are still released by reference count
        # (files flush and close); only objects in reference cycles are left to the exit, whose finalizers
        # Python never promises to run at exit anyway.
        gc.freeze()


if __name__ == '__main__':
    main()
