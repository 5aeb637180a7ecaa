"""Inventory: one cataloger per package world, os-release, image facts."""
