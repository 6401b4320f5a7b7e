"""The fitted trees' scores computed as LightGBM computes them, about ten times as fast.

LightGBM's ``predict`` builds a sparse copy of every row and walks the trees one row at a
time. Here the model's text (``Booster.model_to_string``, up to its best iteration, as
``predict`` uses it) is read into flat arrays, and one compiled kernel (numba, blocks of
rows over the model's threads) finds each row's leaf in each tree without walking it
(:func:`_leaf_kernel`, trees of up to 64 leaves; :func:`_raw_kernel` walks larger ones), with LightGBM's decision rules
(``Tree::NumericalDecision`` and ``Tree::CategoricalDecision``: missing values, zero as
missing, default directions, category bitsets) and adds each row's leaf values tree by tree
from 0.0, as ``GBDT::PredictRaw`` does, then takes LightGBM's sigmoid
``1 / (1 + exp(−σ·raw))``. Scores and probabilities equal LightGBM's to the last bit
(``tests/risk/test_trees.py`` checks it on models with missing, unseen and zero values).

Features are read as LightGBM reads a pandas frame: numbers as float64, categories as their
codes among the training levels (−1, a level unseen in training, is missing), and a value
within 1e-35 of zero as zero (its dense-row reader drops those). A model the kernel does not
cover (not binary, linear trees, a random forest) or an environment without numba keeps LightGBM's own
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


#: Node kinds of :func:`_leaf_kernel`: a number without missing-value handling (a missing number reads as 0.0),
#: a category whose left levels all lie below :data:`CODE_CAP`, and anything else (``_goes_left`` on the value).
NUMBER, CATEGORY, OTHER = 0, 1, 2
#: Category codes at or above this (and missing ones) read as this code, whose bit is never a left level in a CATEGORY node.
CODE_CAP = 31
_DE_BRUIJN = 0x03F79D71B4CB0A89  # the lowest set bit's position: a multiply and a table (``_BIT_INDEX``)
#: ``_BIT_INDEX[(b * _DE_BRUIJN mod 2⁶⁴) >> 58]`` is the position of the one set bit of ``b``.
_BIT_INDEX = np.zeros(64, dtype=np.int64)
for _bit in range(64):
    _BIT_INDEX[((1 << _bit) * _DE_BRUIJN % (1 << 64)) >> 58] = _bit


@_parallel
def _leaf_kernel(xt: Any, out: Any, sigmoid: float, roots: Any, splits: Any, tree: Any, walk: Any) -> None:
    """:func:`_raw_kernel`'s sums, each tree's leaf found without walking it (QuickScorer: Lucchese et al., SIGIR 2015).

    ``xt`` is features × rows. A tree's leaves are numbered left to right; a row starts with
    every leaf possible and each split it does not go left at strikes out the leaves of its
    left branch (``masks``). The leaf it reaches is the leftmost one left. Every split of a
    tree is tested for a block of rows at a time, without a branch (the CPU's vector units do
    it), instead of one row's path at a time, whose every step the CPU would mispredict half
    the time. The decisions are ``_goes_left``'s, and the sums are taken tree by tree from 0.0.
    """
    feat, thr, dt, _, _, cstart, clen, cats, leaves = tree[:9]
    kinds, masks, left_levels, values = walk
    features, n = xt.shape
    block = 512
    for b in numba.prange((n + block - 1) // block):
        lo = b * block
        m = min(n, lo + block) - lo
        numbers = np.empty((features, m), dtype=np.float64)
        codes = np.empty((features, m), dtype=np.int64)
        for f in range(features):
            for i in range(m):
                value = xt[f, lo + i]
                numbers[f, i] = 0.0 if np.isnan(value) else value
                codes[f, i] = np.int64(value) if -1.0 < value < CODE_CAP else CODE_CAP  # int() truncates, as _goes_left's
        alive = np.empty(m, dtype=np.int64)
        total = np.zeros(m, dtype=np.float64)
        for t in range(roots.shape[0]):
            root = roots[t]
            if root < 0:  # a tree of one leaf
                for i in range(m):
                    total[i] += leaves[-root - 1]
                continue
            alive[:] = -1
            for node in range(root, root + splits[t]):
                f, strike = feat[node], masks[node]
                if kinds[node] == NUMBER:
                    threshold, column = thr[node], numbers[f]
                    for i in range(m):
                        alive[i] &= strike | -np.int64(column[i] <= threshold)
                elif kinds[node] == CATEGORY:
                    levels, row_codes = left_levels[node], codes[f]
                    for i in range(m):
                        alive[i] &= strike | -((levels >> row_codes[i]) & 1)
                else:
                    for i in range(m):
                        if not _goes_left(node, xt[f, lo + i], thr, dt, cstart, clen, cats):
                            alive[i] &= strike
            for i in range(m):
                lowest = np.uint64(alive[i] & -alive[i])
                total[i] += values[t, _BIT_INDEX[(lowest * np.uint64(_DE_BRUIJN)) >> np.uint64(58)]]
        for i in range(m):
            out[lo + i] = 1.0 / (1.0 + math.exp(-sigmoid * total[i])) if sigmoid > 0 else total[i]


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
    #: :func:`_leaf_kernel`'s arrays (kinds, masks, left levels, leaf values left to right), or None
    #: when a tree has more than :data:`MAX_SPLITS` + 1 leaves (then :func:`_raw_kernel` walks them).
    walk: tuple[np.ndarray, ...] | None = None


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
    text = booster.model_to_string()
    header, trees = _fields(text)
    if "average_output" in text.split("\nTree=", 1)[0].split():  # a random forest averages its trees: LightGBM's own predict
        return None
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
    root_array, split_array = np.asarray(roots, dtype=np.int32), np.asarray(splits, dtype=np.int32)
    walk = _leaf_walk(nodes, root_array, split_array) if not splits or max(splits) <= MAX_SPLITS else None
    return Trees(int(header["max_feature_idx"]) + 1, sigmoid, root_array, split_array, nodes, walk)


def _leaf_walk(nodes: tuple[np.ndarray, ...], roots: np.ndarray, splits: np.ndarray) -> tuple[np.ndarray, ...]:
    """:func:`_leaf_kernel`'s arrays: each split's kind, strike-out mask and left levels; each tree's leaf values left to right."""
    feat, thr, dt, left, right, cstart, clen, cats, leaves = nodes
    kinds = np.full(len(feat), OTHER, dtype=np.int8)
    masks = np.zeros(len(feat), dtype=np.int64)
    left_levels = np.zeros(len(feat), dtype=np.int64)
    values = np.zeros((len(roots), MAX_SPLITS + 1), dtype=np.float64)
    for t, root in enumerate(roots):
        if root < 0:
            continue
        order: list[int] = []  # the tree's leaves left to right
        under: dict[int, list[int]] = {}  # node → the positions (in ``order``) of the leaves below it
        stack: list[tuple[int, bool]] = [(int(root), False)]
        while stack:  # post-order: a node after both its branches
            node, done = stack.pop()
            if node < 0:
                order.append(-node - 1)
                under[node] = [len(order) - 1]
            elif done:
                under[node] = under[int(left[node])] + under[int(right[node])]
            else:
                stack += [(node, True), (int(right[node]), False), (int(left[node]), False)]
        values[t, : len(order)] = leaves[order]
        for node in range(int(root), int(root) + int(splits[t])):
            masks[node] = ~sum(1 << p for p in under[int(left[node])])
            if dt[node] & 1:
                word = int(cats[cstart[node]]) if clen[node] else 0
                if clen[node] <= 1 and not word >> CODE_CAP & 1:
                    kinds[node], left_levels[node] = CATEGORY, word
            elif not (dt[node] >> 2) & 3:  # no missing-value handling
                kinds[node] = NUMBER
    return kinds, masks, left_levels, values


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
    out = np.empty((len(matrix), matrix.shape[1]), dtype=np.float64, order="F")  # column by column, as the kernel reads it
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
    out = np.empty(len(x), dtype=np.float64)
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]  # per calling thread
    sigmoid = trees.sigmoid if probability else -1.0
    if trees.walk is None:
        _raw_kernel(np.ascontiguousarray(x, dtype=np.float64), out, sigmoid, trees.roots, trees.nodes)
    else:  # features × rows: a copy only when ``x`` is not column by column already (feature_array's is)
        _leaf_kernel(
            np.ascontiguousarray(np.asarray(x, dtype=np.float64).T), out, sigmoid, trees.roots, trees.splits, trees.nodes, trees.walk
        )
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
