"""Labeling loop: sample predictions into Label Studio, pull labels, compute accuracy honestly."""
