"""Measuring generative models: distances between feature distributions (FID, KID), diversity
judged by a classifier, and image-quality scores. One idea per file."""
from .quality import psnr, ssim
