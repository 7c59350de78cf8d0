"""Reading the user's wide-gamut photo into linear ProPhoto, the space the method works in."""
