"""Carrier containers: the 8-bit sRGB PNG, TIFF or JPEG file that also holds the blob.

`carrier` dispatches between the formats; `png`, `tiff` and `jpeg` know their chunk, tag and
segment layers (libpng, tifffile and libjpeg-turbo do the pixels).
"""
