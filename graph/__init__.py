"""The knowledge graph: framework items, quotes, his sources and the ingested documents as typed
nodes and edges, built from the corpus and the framework and saved under the data home.
"""
