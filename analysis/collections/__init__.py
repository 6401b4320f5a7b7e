"""The collections workflow that remembers: a work queue, its recorded outcomes, and what they achieved.

The action list (:mod:`analysis.risk.worklist`) becomes a **work queue**: rows assigned to an
agent or a branch (:mod:`~analysis.collections.queue`); the calls' **outcomes** are recorded,
listed, imported and exported (:mod:`~analysis.collections.outcomes`); the **outcomes view**
says what the work achieved — reach rate, premiums paid within grace, reinstatements won back
(:mod:`~analysis.collections.summary`). Everything is kept in the app's database
(:mod:`~analysis.collections.database`: an embedded SQLite file by default, PostgreSQL when
configured), so it survives restarts and every session shares it. Codes in, codes out: the
words are in the catalogue (:mod:`~analysis.collections.words`).
"""
