"""The year replay (`make replay`): a synthetic city's year sent through the HTTP edge.

``city`` draws the city (counties, units, workers), seeded and deterministic; each module in
``scenarios`` turns one part of the year into ``Step``s (what a hospital, the city platform or
a staff member would have sent, on which business date) and the figures the year's report must
show; ``engine`` sends the merged steps in date order, resumably; ``report`` compares the
figures read back through the edge with the expected ones and writes JSON and HTML.
"""
