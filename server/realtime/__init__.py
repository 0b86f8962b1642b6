"""The Socket.IO server, its Redis fan-out, the namespaces, and the shared room base."""
