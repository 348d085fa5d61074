"""Bundled projectors: find the latents of a given image (GAN inversion)."""
