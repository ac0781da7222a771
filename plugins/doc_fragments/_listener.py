# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!


class ModuleDocFragment:

    # The listener options of lb_prometheus_listener and lb_prometheus_listener_fleet, which
    # share one argument spec (_plan.LISTENER_SPEC) and one write path (_rollout).
    DOCUMENTATION = r"""
options:
  name:
    description:
      - Name of the C(PROMETHEUS) listener on each load balancer; it is how the listener is found
        again.
      - Listeners are looked up only inside their load balancer, so several load balancers can each
        have a listener of the same name.
      - When a load balancer has exactly one C(PROMETHEUS) listener under another name, that
        listener is adopted and renamed instead of a second one being created.
      - At most 255 characters, and no characters outside the Basic Multilingual Plane (such as
        emoji), which Octavia cannot store.
    type: str
    default: prometheus
  protocol_port:
    description:
      - TCP port on the VIP where C(/metrics) is served.
      - This attribute cannot be updated. A different value replaces the listener. The new
        listener is created first (the ports differ, so both can exist), and the old one is
        deleted only once the new one is C(ACTIVE); if the create fails, the old listener stays
        and keeps serving.
      - Must not be used by another TCP-based listener of the same load balancer.
    type: int
    default: 8088
    aliases: [port]
  allowed_cidrs:
    description:
      - Networks allowed to connect to the listener, as CIDRs such as V(192.0.2.0/24); a plain
        address means that address alone (V(/32) or V(/128)).
      - Required with O(state=present). Without it Octavia would serve C(/metrics) to everyone who
        reaches the VIP, which is the whole internet once a floating IP is attached.
      - V(0.0.0.0/0) or V(::/0) given explicitly is accepted with a warning.
      - Compared as a set of normalised networks, so the order does not matter. An entry with host
        bits set, such as V(10.0.0.1/8), allows its whole network (V(10.0.0.0/8)) and gives a warning.
      - Every CIDR must be of an IP version that one of the load balancer's VIPs has.
    type: list
    elements: str
  state:
    description:
      - V(present) creates, updates, replaces or repairs the listener; V(absent) deletes it.
      - A listener in provisioning status C(ERROR) is repaired (deleted, then created again).
        A load balancer in C(ERROR), or one still C(PENDING_*) after O(timeout), fails; neither is
        ever reported unchanged.
      - With V(absent) only C(PROMETHEUS) listeners named O(name) are deleted; a load balancer
        that does not exist (any more) has no listener, so that is not an error.
    type: str
    choices: [present, absent]
    default: present
  allowed_cidrs_unenforced:
    description:
      - What to do when O(allowed_cidrs) cannot take effect on a load balancer, because it was
        created with C(vip_sg_ids) (Octavia then leaves the VIP's security groups to the user and
        adds no rule for the listener) or because its VIP port has port security disabled (checked
        where the network API answers).
      - V(warn) names the load balancer in a warning and goes on; V(fail) fails that load balancer
        before anything is written for it.
      - Octavia refuses O(allowed_cidrs) on the listeners of a load balancer with C(vip_sg_ids), so
        with V(warn) such a listener is created and compared without them; its VIP's security
        groups decide who reaches C(/metrics).
    type: str
    choices: [warn, fail]
    default: warn
  description:
    description:
      - Description of the listener, at most 255 characters.
    type: str
  is_admin_state_up:
    description:
      - Whether the listener is administratively up.
    type: bool
    aliases: [admin_state_up]
  connection_limit:
    description:
      - Maximum number of concurrent connections; V(-1) means unlimited.
    type: int
  tags:
    description:
      - Tags of the listener, compared as a set; each at most 255 characters.
    type: list
    elements: str
  timeout_client_data:
    description:
      - Frontend client inactivity timeout in milliseconds (0 to 31536000000).
    type: int
  timeout_member_connect:
    description:
      - Backend member connection timeout in milliseconds (0 to 31536000000).
    type: int
  timeout_member_data:
    description:
      - Backend member inactivity timeout in milliseconds (0 to 31536000000).
    type: int
  timeout_tcp_inspect:
    description:
      - Time in milliseconds to wait for additional TCP packets for content inspection
        (0 to 31536000000).
    type: int
  default_tls_container_ref:
    description:
      - Reference of the certificate bundle (certificate, key, intermediates) that the listener
        serves C(/metrics) with over TLS, for example a Barbican secret container URL.
      - With it (or O(sni_container_refs)) Prometheus must scrape over HTTPS; the
        C(octavia.monitoring.octavia_prometheus) role does so for such listeners.
      - Updated in place. The empty string removes the certificate; without O(sni_container_refs)
        that removes TLS from the listener, in place (same listener ID, which Octavia allows on a
        C(PROMETHEUS) listener), and RV(octavia.monitoring.lb_prometheus_listener#module:tls_change)
        says V(removed). A listener that would keep O(client_ca_tls_container_ref) cannot lose its
        certificate, which is refused before any write; give the empty string to
        O(client_ca_tls_container_ref) and O(client_crl_container_ref) and V(NONE) to
        O(client_authentication) in the same task.
    type: str
  sni_container_refs:
    description:
      - References of further certificate bundles, chosen by the server name the client asks for.
      - Compared as a set; updated in place. An empty list removes them.
    type: list
    elements: str
  client_ca_tls_container_ref:
    description:
      - Reference of the CA that signs the client certificates the listener accepts, for
        O(client_authentication). Needs O(default_tls_container_ref) or O(sni_container_refs).
      - Updated in place; the empty string removes it.
      - Octavia API v2.8 or later. openstacksdk 4.x's listener resource lacks this attribute
        (its own calls would drop it without a word), so the collection sends and reads it
        with a listener resource of its own.
    type: str
  client_authentication:
    description:
      - Whether the listener asks clients for a certificate signed by O(client_ca_tls_container_ref).
      - V(MANDATORY) refuses, in the TLS handshake, a client without one, so only Prometheus
        servers with a client certificate can scrape. V(OPTIONAL) and V(MANDATORY) need
        O(client_ca_tls_container_ref).
      - Updated in place. Octavia shows V(NONE) on a listener without client authentication.
    type: str
    choices: [NONE, OPTIONAL, MANDATORY]
  client_crl_container_ref:
    description:
      - Reference of the revocation list of O(client_ca_tls_container_ref); needs it.
      - Updated in place; the empty string removes it.
    type: str
  tls_versions:
    description:
      - TLS versions the listener accepts, compared as a set; only with a certificate.
      - Updated in place. Not empty (Octavia refuses an empty list); leave it out to keep the
        listener's setting. A C(PROMETHEUS) listener created without it shows V(null) and accepts
        what the amphora's HAProxy accepts by default.
      - Without O(tls_ciphers) on the listener, it must hold both V(TLSv1.3) and an older version;
        Octavia's amphora driver splits the listener's cipher string by TLS version and fails to
        render the load balancer's configuration when there is none to split, which is refused
        before any write.
      - The cloud's operator may refuse versions below its minimum; the API then says so.
    type: list
    elements: str
    choices: [SSLv3, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3]
  tls_ciphers:
    description:
      - OpenSSL cipher string for TLS 1.2 and older, for example C(ECDHE-ECDSA-AES256-GCM-SHA384);
        only with a certificate.
      - Updated in place. It cannot be emptied (Octavia would put the cloud's default cipher string
        in its place), so the empty string is refused before any write.
    type: str
  alpn_protocols:
    description:
      - ALPN protocols the listener offers, in order of preference; only with a certificate.
      - Compared in order, because Octavia keeps the order and HAProxy offers them in it. Updated in
        place. Not empty (Octavia refuses an empty list).
    type: list
    elements: str
    choices: [h2, http/1.1, http/1.0]
notes:
  - Every option is validated before anything is written, so check mode predicts what Octavia
    would refuse; the checks include lengths and characters, value ranges, the rules that tie the
    TLS settings together (a client CA needs a certificate, client authentication needs a client
    CA, a revocation list needs a client CA, TLS versions the amphora driver can render), the IP
    version of
    O(allowed_cidrs) against the VIP, a port already used by another listener, the API version
    and a provider known not to support C(PROMETHEUS) listeners.
  - Before writing, the listener quota of each project where the run adds a listener is read once,
    with the project's listeners. A load balancer whose new listener would exceed it is skipped,
    with a reason that names the project, the quota and the usage; the others go on. Credentials
    that may not read quotas get a warning, and Octavia decides at the create.
  - Octavia offers C(PROMETHEUS) listeners from API version 2.25 on (Octavia 9.0.0, OpenStack Xena).
  - Octavia locks a load balancer while it changes. Each write waits until the load balancer is
    C(ACTIVE), and is retried, with backoff and until O(timeout), when it is refused as
    "immutable" (HTTP 409), when the connection is refused or reset, and on HTTP 500, 502, 503
    and 504. A create whose answer was lost is looked up before it is sent again, so it never
    makes a second listener.
  - The API does not publish whether the operator allows C(PROMETHEUS) listeners, so check mode
    cannot predict it. When the operator has disabled them
    (C([api_settings] allow_prometheus_listeners = False) in C(octavia.conf)), the API refuses
    the create, nothing is created, and the module says so.
"""
