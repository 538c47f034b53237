"""``gradcalc.dask``: the name issue 18 gave the Dask path, which lives in gradcalc.distributed.

    import gradcalc.dask
    result = gradcalc.dask.gradient("z*(x+y)", dask.dataframe.read_parquet("data/*.parquet"))

Importing this imports no Dask: gradcalc.distributed imports it when a function needs it.
"""

from .distributed import environment, gradient, local_cluster, simd_math, simd_workers

__all__ = ["environment", "gradient", "local_cluster", "simd_math", "simd_workers"]
