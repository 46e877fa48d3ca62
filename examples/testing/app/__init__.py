"""A small app on Workers AI and Vectorize, as a user would write it (the code under test)."""
