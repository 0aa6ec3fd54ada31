"""The owner pages, one module per page family. Each view reads through the feeders
selectors (which see only the owner's rows: someone else's id is a 404) and writes
through the services; an error a service raises is shown next to the form field it is about."""
