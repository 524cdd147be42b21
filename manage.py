#!/usr/bin/env python
"""Django's command-line utility for Flowgate (installed as the ``flowgate`` command)."""

from config.cli import main

if __name__ == "__main__":
    main()
