"""The simulator: hybrid retrieval over the corpus and the graph, the persona and prompt built from
the framework, answers from an LLM (or a deterministic cited framework reading), and citation
checks. It is built up in the retrieval and simulator work; this package is its home.
"""
