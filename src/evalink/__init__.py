"""evalink: governed record linkage and programme evaluation for public services.

Each stage of the flow the privacy notice describes is a package:
council → linker → departments → research → public.
"""

__version__ = "0.1.0"
