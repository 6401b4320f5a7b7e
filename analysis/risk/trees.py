"""The fitted trees' scores computed as LightGBM computes them, about twice as fast.

LightGBM's ``predict`` builds a sparse copy of every row and walks the trees one row at a
time. Here the model's text (``Booster.model_to_string``, up to its best iteration, as
``predict`` uses it) is read into flat arrays, and one compiled kernel (numba, blocks of
rows over the model's threads) walks them with LightGBM's decision rules
(``Tree::NumericalDecision`` and ``Tree::CategoricalDecision``: missing values, zero as
missing, default directions, category bitsets) and adds each row's leaf values tree by tree
from 0.0, as ``GBDT::PredictRaw`` does, then takes LightGBM's sigmoid
``1 / (1 + exp(−σ·raw))``. Scores and probabilities equal LightGBM's to the last bit
(``tests/risk/test_trees.py`` checks it on models with missing, unseen and zero values).

Features are read as LightGBM reads a pandas frame: numbers as float64, categories as their
codes among the training levels (−1, a level unseen in training, is missing), and a value
within 1e-35 of zero as zero (its dense-row reader drops those). A model the kernel does not
cover (not binary, linear trees) or an environment without numba keeps LightGBM's own
``predict`` (:func:`compile_trees` returns None). SHAP values stay LightGBM's own
``pred_contrib``; :func:`split_patterns` (which way each row goes at every split of each
tree) lets :func:`analysis.risk.explain.tree_by_tree` run it once per pattern.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, TypeVar, cast

import numpy as np
import pandas as pd

#: LightGBM reads a dense value within this of zero as zero (``kZeroThreshold``).
ZERO_THRESHOLD = 1e-35
#: A row's split pattern in a tree is a 64-bit mask: trees with more splits are explained row by row.
MAX_SPLITS = 63

F = TypeVar("F", bound=Callable[..., Any])

try:  # numba comes with shap; without it LightGBM's own predict is used
    import numba

    def _inline(function: F) -> F:
        return cast(F, numba.njit(cache=True, nogil=True, inline="always")(function))

    def _parallel(function: F) -> F:
        return cast(F, numba.njit(cache=True, nogil=True, parallel=True)(function))

except ImportError:  # pragma: no cover - numba is installed with shap
    numba = None  # type: ignore[assignment]

    def _inline(function: F) -> F:
        return function

    _parallel = _inline


@_inline
def _goes_left(node: int, fval: float, thr: Any, dt: Any, cstart: Any, clen: Any, cats: Any) -> bool:
    """LightGBM's ``Tree::Decision`` (categorical and numerical) at ``node`` for the value ``fval``."""
    d = dt[node]
    if d & 1:  # categorical: a bitset of the levels that go left; missing and negative go right
        if np.isnan(fval):
            return False
        level = int(fval)
        if level < 0:
            return False
        word = level // 32
        if word >= clen[node]:
            return False
        return ((np.int64(cats[cstart[node] + word]) >> (level % 32)) & 1) == 1
    missing = (d >> 2) & 3  # 0 none, 1 zero, 2 NaN
    if np.isnan(fval) and missing != 2:
        fval = 0.0
    if (missing == 1 and -ZERO_THRESHOLD <= fval <= ZERO_THRESHOLD) or (missing == 2 and np.isnan(fval)):
        return (d & 2) != 0  # the default direction
    return fval <= thr[node]


@_parallel
def _raw_kernel(x: Any, out: Any, sigmoid: float, roots: Any, tree: Any) -> None:
    """``out[i]`` = the sum of row i's leaf values, tree by tree from 0.0 (then its sigmoid when ``sigmoid`` > 0)."""
    feat, thr, dt, left, right, cstart, clen, cats, leaves = tree[:9]
    n = x.shape[0]
    block = 512
    for b in numba.prange((n + block - 1) // block):
        lo = b * block
        hi = min(n, lo + block)
        for i in range(lo, hi):
            out[i] = 0.0
        for t in range(roots.shape[0]):
            root = roots[t]
            for i in range(lo, hi):
                node = root
                while node >= 0:
                    node = left[node] if _goes_left(node, x[i, feat[node]], thr, dt, cstart, clen, cats) else right[node]
                out[i] += leaves[-node - 1]
        if sigmoid > 0:
            for i in range(lo, hi):
                out[i] = 1.0 / (1.0 + math.exp(-sigmoid * out[i]))


@_parallel
def _pattern_kernel(x: Any, masks: Any, roots: Any, splits: Any, tree: Any) -> None:
    """``masks[i, t]``: bit j set when row i goes left at the j-th split of tree t (the row's split pattern in it)."""
    feat, thr, dt, _, _, cstart, clen, cats = tree[:8]
    for i in numba.prange(x.shape[0]):
        for t in range(roots.shape[0]):
            root = roots[t]
            mask = np.int64(0)
            for j in range(splits[t]):
                if _goes_left(root + j, x[i, feat[root + j]], thr, dt, cstart, clen, cats):
                    mask |= np.int64(1) << j
            masks[i, t] = mask


@dataclass(frozen=True)
class Trees:
    """A LightGBM binary model as flat arrays (internal nodes numbered across trees, leaves as ``-(k + 1)``)."""

    features: int
    sigmoid: float
    roots: np.ndarray
    splits: np.ndarray  # tree t's internal nodes are roots[t] .. roots[t] + splits[t] - 1
    nodes: tuple[np.ndarray, ...]  # feat, thr, dt, left, right, cstart, clen, cats, leaves


def _fields(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    header: dict[str, str] = {}
    trees: list[dict[str, str]] = []
    for line in text.splitlines():
        if line.startswith("end of trees"):
            break
        if line.startswith("Tree="):
            trees.append({})
        elif "=" in line:
            key, value = line.split("=", 1)
            (trees[-1] if trees else header)[key] = value
    return header, trees


def _numbers(tree: dict[str, str], key: str, kind: type = int) -> list[Any]:
    return [kind(v) for v in tree.get(key, "").split()]


def _child(child: int, first_node: int, first_leaf: int) -> int:
    """A child in the flat numbering: internal nodes from ``first_node``, leaf k as ``-(first_leaf + k + 1)``."""
    return child + first_node if child >= 0 else -(first_leaf + ~child + 1)


def _flat(trees: list[dict[str, str]]) -> tuple[list[list[Any]], list[int]] | None:
    """The trees' nodes as lists (see :class:`Trees`) and each tree's root; None for a tree the kernel does not cover."""
    columns: list[list[Any]] = [[] for _ in range(9)]
    feat, thr, dt, left, right, cstart, clen, cats, leaves = columns
    roots: list[int] = []
    for tree in trees:
        values = _numbers(tree, "leaf_value", float)
        if tree.get("is_linear", "0") != "0":
            return None
        if int(tree["num_leaves"]) == 1:
            roots.append(-(len(leaves) + 1))
            leaves += values
            continue
        first_node, first_leaf = len(feat), len(leaves)
        bounds, words = (_numbers(tree, "cat_boundaries") or [0]), _numbers(tree, "cat_threshold")
        roots.append(first_node)
        feat += _numbers(tree, "split_feature")
        thr += _numbers(tree, "threshold", float)
        dt += _numbers(tree, "decision_type")
        left += [_child(c, first_node, first_leaf) for c in _numbers(tree, "left_child")]
        right += [_child(c, first_node, first_leaf) for c in _numbers(tree, "right_child")]
        for node in range(first_node, len(feat)):
            at = int(thr[node]) if dt[node] & 1 else 0  # a categorical split's threshold indexes its bitset
            cstart.append(len(cats) + bounds[at] if dt[node] & 1 else 0)
            clen.append(bounds[at + 1] - bounds[at] if dt[node] & 1 else 0)
        cats += words
        leaves += values
    return columns, roots


def compile_trees(booster: Any) -> Trees | None:
    """The booster's trees (up to its best iteration, as ``predict`` uses them), or None when the kernel does not cover it."""
    if numba is None:
        return None
    header, trees = _fields(booster.model_to_string())
    objective = header.get("objective", "").split()
    if header.get("num_tree_per_iteration", "1") != "1" or not objective or objective[0] != "binary" or not trees:
        return None
    flat = _flat(trees)
    if flat is None:
        return None
    columns, roots = flat
    sigmoid = float(next((o.split(":")[1] for o in objective if o.startswith("sigmoid:")), "1"))
    kinds = (np.int32, np.float64, np.int8, np.int32, np.int32, np.int32, np.int32, np.uint32, np.float64)
    columns[7] = columns[7] or [0]  # never an empty array (the kernel indexes it)
    nodes = tuple(np.asarray(c, dtype=k) for c, k in zip(columns, kinds))
    splits = [int(tree["num_leaves"]) - 1 for tree in trees]
    return Trees(int(header["max_feature_idx"]) + 1, sigmoid, np.asarray(roots, dtype=np.int32), np.asarray(splits, dtype=np.int32), nodes)


def trees_of(model: Any) -> Trees | None:
    """The compiled trees of a fitted ``LGBMClassifier`` (kept on it after the first call), or None."""
    found = getattr(model, "_lapselens_trees", False)
    if found is False:
        found = compile_trees(model.booster_)
        model._lapselens_trees = found
    return found if isinstance(found, Trees) else None


def feature_array(matrix: pd.DataFrame, categories: list[list[Any]] | None) -> np.ndarray | None:
    """``matrix`` as LightGBM reads a pandas frame: float64, categories as codes of the training levels (unseen: NaN).

    ``categories`` is the model's ``pandas_categorical`` (the levels of its categorical columns,
    in order). None when a column is neither a number nor a category.
    """
    out = np.empty((len(matrix), matrix.shape[1]), dtype=np.float64)
    levels = iter(categories or [])
    for j, column in enumerate(matrix.columns):
        values = matrix[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            wanted = next(levels, None)
            if wanted is None:
                return None
            if list(values.cat.categories) != list(wanted):
                values = values.cat.set_categories(wanted)
            codes = values.cat.codes.to_numpy()
            out[:, j] = codes
            out[codes < 0, j] = np.nan
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out[:, j] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            return None
    out[np.abs(out) <= ZERO_THRESHOLD] = 0.0  # NaN stays NaN
    return out


def raw_scores(trees: Trees, x: np.ndarray, *, threads: int = 1, probability: bool = False) -> np.ndarray:
    """Each row's raw score (log-odds) as LightGBM's ``predict(raw_score=True)``, or its probability (``predict_proba``)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty(len(x), dtype=np.float64)
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]  # per calling thread
    _raw_kernel(x, out, trees.sigmoid if probability else -1.0, trees.roots, trees.nodes)
    return out


def predict_probability(model: Any, matrix: pd.DataFrame, *, threads: int = 1) -> np.ndarray:
    """P(class 1) of a fitted ``LGBMClassifier`` for ``matrix``: the kernel's, else LightGBM's own ``predict_proba``."""
    trees = trees_of(model)
    x = None if trees is None else feature_array(matrix, model.booster_.pandas_categorical)
    if trees is None or x is None or x.shape[1] != trees.features:
        return np.asarray(model.predict_proba(matrix, num_threads=threads))[:, 1]
    return raw_scores(trees, x, threads=threads, probability=True)


def split_patterns(trees: Trees, x: np.ndarray, *, threads: int = 1) -> np.ndarray | None:
    """Rows × trees: which way each row goes at every split of each tree, as a bit mask (None past 63 splits)."""
    if len(trees.splits) and trees.splits.max() > MAX_SPLITS:
        return None
    x = np.ascontiguousarray(x, dtype=np.float64)
    masks = np.empty((len(x), len(trees.roots)), dtype=np.int64)
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]
    _pattern_kernel(x, masks, trees.roots, trees.splits, trees.nodes)
    return masks
