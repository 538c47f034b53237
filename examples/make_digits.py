"""Make examples/digits_train.npz and examples/digits_test.npz from scikit-learn's digits.

    pip install scikit-learn        # for this script only; gradcalc never needs it
    python examples/make_digits.py

scikit-learn ships the data inside its package (sklearn/datasets/data/digits.csv.gz), so this
runs offline. 1,797 images of 8×8 pixels, each pixel a whole number 0..16, labelled 0..9.

Each archive holds two arrays, named as the program examples/digits_mlp.gc names its data:

- ``X``: N×64 float64, the pixels row by row divided by 16 (so in [0, 1]);
- ``y``: N float64, the digit, a class label 0..9 (cross_entropy takes whole numbers).

The split is fixed: the images are put in the order ``numpy.random.default_rng(0).permutation
(1797)``, then the first 1,438 (80%) train and the last 359 (20%) test. (Taking the last fifth
in scikit-learn's own order instead gives a harder test set: the 64 → 32 → 10 network of
digits_mlp.gc reaches only about 90% on it, against 97% here.) Running the script again writes
the same arrays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

HERE = Path(__file__).resolve().parent


def main() -> None:
    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    X = digits.data[order].astype(np.float64) / 16.0
    y = digits.target[order].astype(np.float64)
    n_test = round(0.2 * len(y))
    cut = len(y) - n_test
    for name, rows in (("train", slice(0, cut)), ("test", slice(cut, None))):
        path = HERE / f"digits_{name}.npz"
        np.savez_compressed(path, X=X[rows], y=y[rows])
        print(f"wrote {path.relative_to(HERE.parent)}: X {X[rows].shape}, y {y[rows].shape}, "
              f"{path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
