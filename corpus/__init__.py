"""The corpus: what Karpathy said (documents and their chunks), the SQLite store that holds it,
and the authored framework of his ideas (`corpus/framework/*.yaml`).

Everything else in the project is derived from this package's data and can be rebuilt from it.
"""
