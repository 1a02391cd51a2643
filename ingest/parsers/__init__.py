"""One parser per format; each returns `ingest.blocks.Parsed`."""
