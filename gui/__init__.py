"""The window of unfreeze: controls, live plots, run controller, probe, lessons."""
