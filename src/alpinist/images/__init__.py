"""Image access: references, transports, verified blobs, layers, the merged file view."""
