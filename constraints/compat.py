"""numpy 2 aliases that pyspark 3.5's pandas API still uses, restored before pandera imports it.

pandera imports `pyspark.pandas` when pyspark is importable, and pyspark < 4 reads `np.NaN` and
friends, which numpy 2 removed. pandera restores them itself, but only when pyspark is installed as
a distribution (it asks `importlib.metadata`). On a cluster, pyspark comes from the Spark
installation's PYTHONPATH (`$SPARK_HOME/python/lib/pyspark.zip`), not from the packed environment,
so pandera does not patch and the import fails with "`np.NaN` was removed in the NumPy 2.0 release".
"""

from __future__ import annotations

ALIASES = {"NaN": "nan", "string_": "bytes_", "float_": "float64", "unicode_": "str_"}


def restore_numpy_aliases_for_pyspark() -> None:
    """Re-add the aliases when pyspark < 4 is importable and numpy >= 2; otherwise do nothing. Idempotent."""
    import numpy as np
    try:
        import pyspark
    except ImportError:
        return
    if int(pyspark.__version__.split(".")[0]) >= 4 or int(np.__version__.split(".")[0]) < 2:
        return
    expired = getattr(np, "_expired_attrs_2_0", None)
    gone = getattr(expired, "__expired_attributes__", {})
    for alias, name in ALIASES.items():
        gone.pop(alias, None)
        if alias not in np.__dict__:
            setattr(np, alias, getattr(np, name))
