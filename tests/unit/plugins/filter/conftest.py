"""Make this checkout importable as ansible_collections.octavia.monitoring for the filter tests."""
import sys

from helpers.ansible_run import COLLECTIONS, ansible_env

# ansible_env() creates the symlink tree that makes the checkout a collection; the import path
# is then the one Ansible itself uses, so a test cannot pass on a module Ansible would not load.
ansible_env()
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
