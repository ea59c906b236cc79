"""`patina mcp`'s tools, one module each (search_code, find_related, index_status), with what they share:
the workspace and its first-call wait (workspace.py) and how matches are answered (answers.py)."""
