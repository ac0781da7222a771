"""The local Octavia lab: the real Octavia API and worker on this machine, for tests and demos.

`labctl.py` is the command line; `lab.client.Lab` is what pytest fixtures use.
README.md in this directory describes the layout, the ports and the amphora emulation.
"""
