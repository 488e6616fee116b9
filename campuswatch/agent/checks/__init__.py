"""The gateway's own checks of the school's network, as the pupils' iPads use it.

The agent sits on the school's gateway, where the iPads' traffic passes, so it can see what they see:

- :mod:`.path`: the way to the internet: loss and latency to the upstream gateway and a target beyond it
  (:mod:`.icmp`), DNS through the school's resolver (:mod:`.dns`), HTTPS to the services the iPads need
  (:mod:`.https`): one reading of kind ``uplink``;
- :mod:`.dhcp`: the pools of the DHCP server the gateway runs (ISC Kea, dnsmasq): one reading of kind
  ``dhcp``;
- :mod:`.airplay`: the AirPlay receivers of the rooms, asked over mDNS and on their port: one reading of
  kind ``display`` per receiver.

Each check is scheduled like a device's poll, bounded in time (every wait has a timeout) and size (every
answer read has a limit), and reports facts: how many echoes came back, what the resolver answered, the
status and certificate a service showed, how many addresses a pool has left. Whether that is a problem
(how much loss is too much, how full a pool may get, how long a receiver may be gone) is judged by the
collector's rules, never here.
"""
