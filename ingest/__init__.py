"""Ingestors: read his material from files (and later the web) into `corpus.model.Document`s.

Each reader turns one source into documents or raises `SkipItem` with a reason a person can act
on; `ingest.run` walks the inputs, keeps the good items, and reports the rest.
"""
