"""Data for training: built-in procedural cats, image folders, batching, 2-D toy datasets.

Host-side code: it uses NumPy and Pillow directly; batches become device Tensors at the end.
"""
from .cats import procedural_cats, CAT_ATTRIBUTES
from .image_folder import load_image_folder, EXTENSIONS
from .batches import ImageBatches
from .toy import sample_toy, toy_modes, mode_coverage, code_mode_agreement, TOY_DATASETS
from .pairs import edge_maps, grayscale, PairedBatches, UnpairedBatches
