"""A tiny package with deliberately wrong imports: tests/test_import_contract.py must catch each."""
