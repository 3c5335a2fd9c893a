"""The server's one memory budget (``CNNLAB_MEMORY_MB``) and the byte-counted caches that draw
from it. Numpy only."""
