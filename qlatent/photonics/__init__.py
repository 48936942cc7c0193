"""Linear-optical interferometers and exact boson sampling."""
