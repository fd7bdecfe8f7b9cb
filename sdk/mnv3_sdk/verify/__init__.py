"""Does the .pte compute what the eager network does: agreement, accuracy, the int8 gate, layer sensitivity."""
