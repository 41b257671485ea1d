"""Measuring generative models: distances between feature distributions (FID, KID), diversity
judged by a classifier, and image-quality scores. One idea per file."""
from .fid import fid_from_features, kid_from_features, polynomial_kernel
from .classifier import CatAttributeClassifier, load_cat_classifier, save_cat_classifier
from .diversity import classifier_diversity, diversity_scores
from .quality import psnr, ssim
from .agreement import code_agreement, normalized_mutual_information
