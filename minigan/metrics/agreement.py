"""Does a latent code pick a class? (InfoGAN's categorical code against a classifier's labels,
or against the nearest mode of toy data.)

    code_agreement(codes, classes)             share of samples on their code's majority class
    normalized_mutual_information(codes, classes)   I(code; class) / mean(H(code), H(class))

Both take integer arrays (N,) on the host or the device. Chance level: a code that G ignores
leaves each code value's samples distributed like the classes overall, so the agreement is
about max_c P(class = c) (1/K for K equally likely classes; a little more on few samples,
since a majority is picked after seeing them) and the mutual information about 0. An
agreement of 1 says each code value draws one class only; it does not say that different
code values draw different classes (two values may share a majority class): the mutual
information falls when they do. See ``docs/15_augmentation.md``.
"""
from .. import backend
from ..backend import np


def _host_ints(values, name):
    values = np.asarray(backend.to_numpy(getattr(values, "data", values))).reshape(-1)
    if values.size and not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"code_agreement: {name} must be integers, got {values.dtype}")
    return values.astype(np.int64)


def _pair(codes, classes):
    codes, classes = _host_ints(codes, "codes"), _host_ints(classes, "classes")
    if len(codes) != len(classes) or len(codes) == 0:
        raise ValueError(f"code_agreement: expected codes and classes of one non-zero length, "
                         f"got {len(codes)} and {len(classes)}")
    if codes.min() < 0 or classes.min() < 0:
        raise ValueError("code_agreement: codes and classes must be non-negative")
    return codes, classes


def code_agreement(codes, classes):
    """Each code value's majority class (the class most of its samples have: on a tie any of
    the tied ones, the count is the same); the share of all samples whose class is their code
    value's majority class. 1.0: every code value draws a single class."""
    codes, classes = _pair(codes, classes)
    agree = sum(int(np.bincount(classes[codes == code]).max()) for code in np.unique(codes))
    return agree / len(codes)


def normalized_mutual_information(codes, classes):
    """I(code; class) / ((H(code) + H(class)) / 2), from the empirical joint distribution,
    in [0, 1] (scikit-learn's default normalisation). 1.0: the code and the class determine
    each other; 0: independent. Both constant: 1.0, as scikit-learn."""
    codes, classes = _pair(codes, classes)
    joint = np.zeros((codes.max() + 1, classes.max() + 1))
    np.add.at(joint, (codes, classes), 1.0)
    joint /= len(codes)
    p_code, p_class = joint.sum(1), joint.sum(0)

    def entropy(p):
        p = p[p > 0]
        return float(-(p * np.log(p)).sum())

    nz = joint > 0
    mutual = float((joint[nz] * np.log(joint[nz] / np.outer(p_code, p_class)[nz])).sum())
    h_code, h_class = entropy(p_code), entropy(p_class)
    if h_code == 0 and h_class == 0:
        return 1.0
    return max(0.0, mutual) / ((h_code + h_class) / 2)
