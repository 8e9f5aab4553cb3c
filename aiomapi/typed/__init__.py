"""The typed API: dhcpd values, typed objects, and the ``omapi.leases``/``hosts``/… managers."""
