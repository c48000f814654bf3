"""Every rule of the pack, in the order the pack serves them (also what tests load in-process)."""

import snowplow_data_protection
import snowplow_encryption
import snowplow_iam
import snowplow_network
import snowplow_observability
import snowplow_sizing
import snowplow_tagging

POLICIES = [
    *snowplow_encryption.POLICIES,
    *snowplow_network.POLICIES,
    *snowplow_iam.POLICIES,
    *snowplow_sizing.POLICIES,
    *snowplow_data_protection.POLICIES,
    *snowplow_tagging.POLICIES,
    *snowplow_observability.POLICIES,
]
