"""What LapseLens keeps on disk between visits: a data directory, private files, kept data sets.

:mod:`analysis.store.disk` resolves the data directory (``LAPSELENS_DATA_DIR``, default
``.lapselens/`` beside ``app.py``) and writes private files there (0600 in 0700 folders,
atomically). :mod:`analysis.store.datasets` keeps a session's data set and mapping under an
unguessable link token, so a browser refresh finds it again. Pure Python, no Streamlit.
"""

from analysis.store.datasets import DataSetChoice, DataSetStore, StoreLimits, content_hash, new_token
from analysis.store.disk import data_dir

__all__ = ["DataSetChoice", "DataSetStore", "StoreLimits", "content_hash", "data_dir", "new_token"]
