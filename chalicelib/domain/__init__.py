"""Plain values in, plain values out: no AWS, no environment, time passed in."""
