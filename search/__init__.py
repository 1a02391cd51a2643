"""Query side of the knowledge base: settings, taxonomy, embedders and the Qdrant index."""
