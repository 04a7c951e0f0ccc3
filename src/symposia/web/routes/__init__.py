"""The pages, one module per concern; each exposes ``routes``."""
