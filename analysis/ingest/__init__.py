"""The door: every number enters LapseLens through :func:`analysis.ingest.pipeline.load_extract`.

Reading (format, encoding, header row): :mod:`~analysis.ingest.reading` tells the format and
hands the bytes to :mod:`~analysis.ingest.csv_reader` (decoded by :mod:`~analysis.ingest.encoding`)
or :mod:`~analysis.ingest.workbook`, which give a :class:`~analysis.ingest.raw.RawTable`;
:mod:`~analysis.ingest.headers` finds the header row and maps headers to canonical columns.

The steps (:data:`analysis.ingest.pipeline.STEPS`), each reading and writing an
:class:`~analysis.ingest.intake.Intake`: the policy rows (:mod:`~analysis.ingest.rows`), the
columns (:mod:`~analysis.ingest.columns`, :mod:`~analysis.ingest.identity`, parsed by
:mod:`~analysis.ingest.parsing` over :mod:`~analysis.ingest.text`, started early by
:mod:`~analysis.ingest.ahead`), the logic checks and duplicates (:mod:`~analysis.ingest.checks`),
the attributes (:mod:`~analysis.ingest.attributes`), the study date
(:mod:`~analysis.ingest.study_date`) and the dates it bounds or a rule gives: exits and lapses
dated by rule, dates after the study date (:mod:`~analysis.ingest.dating`). Every problem and column note goes to the
:mod:`~analysis.ingest.ledger` as codes and parameters, whose
:func:`~analysis.ingest.ledger.problem_details` words them in a language from the catalogue;
:mod:`~analysis.ingest.account` turns it into the downloadable row account. Mapping presets:
:mod:`~analysis.ingest.presets`. The premium basis: :mod:`~analysis.ingest.premiums`; reasons that
touch many rows, said first: :mod:`~analysis.ingest.loud`; a refused file's own headers and
status values, to map it again: :mod:`~analysis.ingest.survey`.
"""
