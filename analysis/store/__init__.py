"""What LapseLens keeps on disk between visits: a data directory, private files, kept data sets.

:mod:`analysis.store.disk` resolves the data directory (``LAPSELENS_DATA_DIR``, default
``.lapselens/`` beside ``app.py``) and writes private files there (0600 in 0700 folders,
atomically). :mod:`analysis.store.datasets` keeps a session's data set and mapping under an
unguessable link token, so a browser refresh finds it again. :mod:`analysis.store.books` keeps
loaded books (the canonical policies and the account, as Parquet) so a restart reads them instead
of loading again. Pure Python, no Streamlit.
"""

from analysis.store.books import BookLimits, BookStore
from analysis.store.datasets import DataSetChoice, DataSetStore, StoreLimits, content_hash, new_token
from analysis.store.disk import data_dir

__all__ = ["BookLimits", "BookStore", "DataSetChoice", "DataSetStore", "StoreLimits", "content_hash", "data_dir", "new_token"]
