"""A test-only app (installed by catfeeder/settings/test.py): messages that exercise the
framework's failure paths in the real server process, kept out of the documents."""
