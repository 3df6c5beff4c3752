"""Charts: plain data -> matplotlib ``Figure`` -> SVG, PNG or PDF bytes.

Never ``matplotlib.pyplot``: every chart builds ``matplotlib.figure.Figure()`` directly, so nothing
depends on a GUI backend or on global pyplot state and a web worker can draw safely. The input
types live in :mod:`tracker.charts.data` (no matplotlib import), the services build them.
"""
