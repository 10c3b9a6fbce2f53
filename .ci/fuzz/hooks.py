"""Schemathesis hooks for the procdash fuzz stage.

The fuzzer authenticates with one admin key. It may revoke or deactivate any key through the API
except its own: a self-revocation would turn the rest of the run into 401s and hide every other
finding. Only that one case is excluded; every other key id is fuzzed.
"""

import os

import schemathesis

OWN_KEY_ID = os.environ.get("FUZZ_KEY_ID", "")


@schemathesis.hook("filter_path_parameters")
def keep_own_key(ctx, path_parameters):
    if path_parameters is None:
        return True
    key_id = path_parameters.get("key_id")
    return key_id is None or str(key_id) != OWN_KEY_ID
