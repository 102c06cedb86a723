"""Privacy duties of the platform (issue 14 part B): erasure (PS-08), retention (PS-09), consent to
profiling and emotion analysis (PS-12, 003-1), the export and login audit (PS-04) and least privilege.

Submodules are imported where they are used; nothing here touches the warehouse on import.
"""
