# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!


class ModuleDocFragment:

    # The auth options keep openstack.cloud's names, aliases and meanings, so a task or a
    # module_defaults block written for openstack.cloud works here unchanged.
    DOCUMENTATION = r"""
options:
  cloud:
    description:
      - Name of a cloud in C(clouds.yaml), or a dict of connection settings in the same form as
        a C(clouds.yaml) entry.
      - When not set, openstacksdk reads the C(OS_*) environment variables and the C(clouds.yaml)
        named by E(OS_CLIENT_CONFIG_FILE) (this is how AWX and Ansible Automation Platform inject
        OpenStack credentials); a C(clouds.yaml) holding a single cloud is used as it is.
      - A dict cannot be combined with O(auth), O(auth_type), O(region_name), O(validate_certs),
        O(ca_cert), O(client_cert), O(client_key) or O(api_timeout); put those into the dict.
    type: raw
  auth:
    description:
      - Authentication settings such as C(auth_url), C(username), C(password), C(project_name)
        and C(user_domain_name), as keystoneauth expects them for O(auth_type).
      - Overrides what O(cloud) or the environment provide.
    type: dict
  auth_type:
    description:
      - Name of the keystoneauth plugin, for example V(password), V(v3applicationcredential),
        V(token) or V(none).
      - Defaults to what O(cloud) or the environment say, else V(password).
    type: str
  region_name:
    description:
      - Region whose endpoints to use, when the cloud has several.
    type: str
  validate_certs:
    description:
      - Whether to verify TLS certificates of the API endpoints.
      - When not set, the setting of O(cloud) applies, and certificates are verified.
    type: bool
    aliases: [verify]
  ca_cert:
    description:
      - Path to a CA bundle used to verify the endpoints' certificates.
    type: str
    aliases: [cacert]
  client_cert:
    description:
      - Path to a client certificate for mutual TLS.
    type: str
    aliases: [cert]
  client_key:
    description:
      - Path to the private key of O(client_cert).
    type: str
    aliases: [key]
  api_timeout:
    description:
      - Seconds to wait for one API request before giving up on it.
      - When neither this option nor the cloud's C(clouds.yaml) entry sets it, 30 seconds apply
        (openstacksdk alone would wait forever). A request that times out fails with a message
        that names the URL and the time waited.
    type: int
  interface:
    description:
      - Which endpoint of the service catalog to use.
    type: str
    default: public
    choices: [public, internal, admin]
    aliases: [endpoint_type]
  wait:
    description:
      - Whether a module that changes something waits until the load balancer and the changed
        object are C(ACTIVE) again before it returns, and then returns the object as re-read.
      - A write always waits for the load balancer to be idle first, because Octavia refuses
        writes while it is C(PENDING_*).
      - Info modules change nothing and ignore this option.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait in total for the load balancer to become idle, including retries of
        writes that Octavia refused because the load balancer was busy (HTTP 409).
    type: int
    default: 180
requirements:
  - python >= 3.8
  - openstacksdk >= 4.22
notes:
  - The auth options have the names and meanings of the P(openstack.cloud.server#module) family,
    so C(module_defaults) for both collections can share one set of values.
"""
