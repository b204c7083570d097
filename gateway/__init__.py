"""Camera-gateway side helpers: tools that produce footage the way an NVR does."""
