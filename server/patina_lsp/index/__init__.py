"""The workspace index: scan, extract, embed, search, persist. Plain Python: no language-server imports."""
