"""Whole folders per command: plan the files, skip what is done, run the rest on this machine
(one or many worker processes) or on a Ray cluster, and keep a manifest of every result."""
