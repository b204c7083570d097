"""Video inspection and thumbnailing for uploaded clips."""
