# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The collection's two exceptions. Pure: imports neither Ansible nor openstacksdk."""


class OctaviaError(Exception):
    """A failure worth telling the user about, as one readable sentence.

    ``extra`` holds additional result keys (for example ``candidates`` or
    ``status``) that a module adds to its failure result.
    """

    def __init__(self, message, **extra):
        super().__init__(message)
        self.extra = extra


class PlanError(OctaviaError):
    """An input or a state that makes the requested change impossible, found before any write."""
