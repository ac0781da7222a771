"""Import this checkout as ansible_collections.octavia.monitoring for the inventory plugin tests."""
import sys

from helpers.ansible_run import COLLECTIONS, ansible_env

ansible_env()
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
