"""The engine of unfreeze: workloads, back ends, the local server, statistics.

No Qt here, except inside the back ends whose whole point is Qt
(``gui-thread``, ``qthread``, ``asyncio``), which import it lazily.
"""
