"""The engine core: the book's aggregations written once as Ibis expressions.

DuckDB, embedded in the process, is the default engine; the same expressions run on a
local or remote Spark session (:func:`analysis.engine.backend.connect`) and on the other
Ibis backends that support the operations. Only small aggregated tables come back to
pandas, for lifelines, LightGBM and the charts.
"""
